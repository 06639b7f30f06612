// The video page: plays with dash.js (automatic quality plus a manual menu),
// falls back to native HLS where Media Source Extensions are missing, and
// while the video is processing follows its state until it can play.
'use strict';

(() => {
  const article = document.querySelector('article.watch');
  if (!article) return;
  const video = document.getElementById('player');

  const fillQualityMenu = (player) => {
    const menu = document.getElementById('quality');
    const representations = player.getRepresentationsByType('video') || [];
    menu.length = 1;
    representations
      .slice()
      .sort((a, b) => b.height - a.height)
      .forEach((representation) => {
        const option = document.createElement('option');
        option.value = representation.id;
        option.textContent = `${representation.height}p`;
        menu.append(option);
      });
    menu.onchange = () => {
      const auto = menu.value === 'auto';
      player.updateSettings({ streaming: { abr: { autoSwitchBitrate: { video: auto } } } });
      if (!auto) player.setRepresentationForTypeById('video', menu.value, true);
    };
  };

  const play = () => {
    const hasMse = 'MediaSource' in window || 'ManagedMediaSource' in window;
    if (!hasMse && video.canPlayType('application/vnd.apple.mpegurl')) {
      video.src = video.dataset.hls;
      return;
    }
    const player = dashjs.MediaPlayer().create();
    player.initialize(video, video.dataset.dash, false);
    player.on(dashjs.MediaPlayer.events.STREAM_INITIALIZED, () => fillQualityMenu(player));
    window.dvsPlayer = player;
  };

  const follow = async () => {
    const state = document.getElementById('video-state');
    if (!state || state.dataset.state !== 'processing') return;
    const id = article.dataset.id;
    while (true) {
      await new Promise((resolve) => setTimeout(resolve, 1000));
      const response = await fetch(`/api/videos/${encodeURIComponent(id)}`);
      if (!response.ok) return;
      const meta = await response.json();
      if (meta.playable || meta.state !== 'processing') return window.location.reload();
      document.getElementById('percent').textContent = `${Math.floor(meta.progress * 100)}%`;
      document.getElementById('processing-progress').value = meta.progress;
    }
  };

  // The owner's visibility form: PATCH /api/videos/:id, then the page again
  // (a private video plays by signed URLs, a public one by /content/).
  const visibilityForm = document.getElementById('visibility-form');
  if (visibilityForm) {
    visibilityForm.addEventListener('submit', async (event) => {
      event.preventDefault();
      const status = document.getElementById('visibility-status');
      const response = await fetch(`/api/videos/${encodeURIComponent(article.dataset.id)}`, {
        method: 'PATCH',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ visibility: visibilityForm.elements.visibility.value }),
      });
      if (response.ok) return window.location.reload();
      let body = {};
      try { body = await response.json(); } catch (ignored) { /* not JSON */ }
      status.textContent = body.error || `Not saved (${response.status}).`;
      status.classList.add('error');
    });
  }

  // A failed video's Retry button (its owner's): POST /api/videos/:id/retry,
  // then the page again, which follows the processing.
  const retryForm = document.getElementById('retry-form');
  if (retryForm) {
    retryForm.addEventListener('submit', async (event) => {
      event.preventDefault();
      const status = document.getElementById('retry-status');
      const response = await fetch(`/api/videos/${encodeURIComponent(article.dataset.id)}/retry`, {
        method: 'POST',
        headers: { Accept: 'application/json' },
      });
      if (response.ok) return window.location.reload();
      let body = {};
      try { body = await response.json(); } catch (ignored) { /* not JSON */ }
      status.textContent = body.error || `Not retried (${response.status}).`;
      status.classList.add('error');
    });
  }

  if (video) {
    if (window.dashjs) play();
    else window.addEventListener('load', play);
  } else {
    follow();
  }
})();
