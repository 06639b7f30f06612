// The index page: upload with a byte progress bar, then follow the
// transcoding percentage, without leaving the page. Without JavaScript the
// form posts normally and the server redirects to the video page.
'use strict';

(() => {
  const form = document.getElementById('upload-form');
  if (!form) return;
  const bar = document.getElementById('upload-progress');
  const status = document.getElementById('upload-status');
  const button = form.querySelector('button');

  const show = (text, fraction) => {
    status.textContent = text;
    bar.hidden = fraction === undefined;
    if (fraction !== undefined) bar.value = fraction;
  };

  const fail = (message) => {
    show(message);
    status.classList.add('error');
    button.disabled = false;
  };

  const follow = async (video) => {
    const pageLink = () => {
      const link = document.createElement('a');
      link.href = video.urls.page;
      link.textContent = 'Watch it';
      return link;
    };
    while (true) {
      const response = await fetch(`/api/videos/${encodeURIComponent(video.id)}`,
                                   { headers: { Accept: 'application/json' } });
      if (!response.ok) return fail(`Processing stopped (${response.status}).`);
      video = await response.json();
      if (video.state === 'failed') return fail(`Processing failed: ${video.error}`);
      if (video.playable) {
        show(video.state === 'ready' ? 'Ready. ' : 'Playable now. ', 1);
        status.append(pageLink());
        button.disabled = false;
        return;
      }
      show(`Processing… ${Math.floor(video.progress * 100)}%`, video.progress);
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
  };

  form.addEventListener('submit', (event) => {
    const file = form.elements.file.files[0];
    if (!file) return;
    event.preventDefault();
    status.classList.remove('error');
    button.disabled = true;
    const request = new XMLHttpRequest();
    request.open('POST', '/upload');
    request.setRequestHeader('Accept', 'application/json');
    request.upload.addEventListener('progress', (progress) => {
      if (!progress.lengthComputable) return;
      const fraction = progress.loaded / progress.total;
      show(`Uploading… ${Math.floor(fraction * 100)}%`, fraction);
    });
    request.addEventListener('load', () => {
      let body = {};
      try { body = JSON.parse(request.responseText); } catch (ignored) { /* not JSON */ }
      if (request.status !== 202) return fail(body.error || `Upload failed (${request.status}).`);
      show('Processing… 0%', 0);
      follow(body).catch((error) => fail(`Lost contact with the server: ${error.message}`));
    });
    request.addEventListener('error', () => fail('The upload did not reach the server.'));
    const data = new FormData();
    // Before the file: the server learns it without waiting for the body's end.
    if (form.elements.visibility) data.append('visibility', form.elements.visibility.value);
    data.append('file', file);
    show('Uploading… 0%', 0);
    request.send(data);
  });
})();
