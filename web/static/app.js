// The index page: upload with a byte progress bar, then follow the
// transcoding percentage, without leaving the page. Uploads go through tus
// (tus-js-client at /api/uploads/): in chunks, with pause and resume,
// retried by themselves when the network drops, and resumed after a reload
// of the page when the same file is chosen again. Without tus-js-client the
// form is sent whole by XHR; without JavaScript it posts normally and the
// server redirects to the video page.
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

  // The whole file in one POST /upload (no tus-js-client, or an old browser).
  const sendWhole = (file) => {
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
  };

  // The server's message in a failed tus request's JSON body, if any.
  const tusMessage = (error) => {
    const response = error.originalResponse;
    if (!response) return `The upload stopped: ${error.message}`;
    try { return JSON.parse(response.getBody()).error; } catch (ignored) { /* not JSON */ }
    return `Upload failed (${response.getStatus()}).`;
  };

  const pauseButton = document.createElement('button');
  pauseButton.type = 'button';
  pauseButton.id = 'upload-pause';
  pauseButton.hidden = true;
  button.after(pauseButton);

  const sendTus = (file) => {
    let videoPath = null;
    let paused = false;
    const upload = new window.tus.Upload(file, {
      endpoint: '/api/uploads/',
      chunkSize: 4 * 1024 * 1024,
      // Retried for about a minute and a half: long enough for a network to come back.
      retryDelays: [0, 1000, 2000, 3000, 5000, 5000, 10000, 10000, 20000, 30000],
      metadata: {
        filename: file.name,
        visibility: form.elements.visibility ? form.elements.visibility.value : 'public',
      },
      removeFingerprintOnSuccess: true,
      onProgress: (sent, total) => {
        const fraction = total ? sent / total : 0;
        show(`Uploading… ${Math.floor(fraction * 100)}%`, fraction);
      },
      onShouldRetry: (error, attempt) => {
        show(`Connection lost; retrying (attempt ${attempt + 1})…`, bar.value);
        const status = error.originalResponse ? error.originalResponse.getStatus() : 0;
        return status === 0 || status >= 500 || status === 409 || status === 423;
      },
      onAfterResponse: (request, response) => {
        const location = response.getHeader('Video-Location');
        if (location) videoPath = location;
      },
      onError: (error) => {
        pauseButton.hidden = true;
        fail(tusMessage(error));
      },
      onSuccess: () => {
        pauseButton.hidden = true;
        const id = videoPath ? decodeURIComponent(videoPath.split('/').pop()) : null;
        if (!id) return fail('The upload finished, but the server named no video.');
        show('Processing… 0%', 0);
        follow({ id, urls: { page: videoPath } })
          .catch((error) => fail(`Lost contact with the server: ${error.message}`));
      },
    });
    pauseButton.textContent = 'Pause';
    pauseButton.hidden = false;
    pauseButton.onclick = () => {
      paused = !paused;
      pauseButton.textContent = paused ? 'Resume' : 'Pause';
      if (paused) {
        upload.abort();
        show(`Paused at ${Math.floor(bar.value * 100)}%.`, bar.value);
      } else {
        upload.start();
      }
    };
    show('Uploading… 0%', 0);
    // The same file chosen after a reload goes on where it stopped.
    upload.findPreviousUploads().then((previous) => {
      if (previous.length > 0) upload.resumeFromPreviousUpload(previous[0]);
      upload.start();
    });
  };

  form.addEventListener('submit', (event) => {
    const file = form.elements.file.files[0];
    if (!file) return;
    event.preventDefault();
    status.classList.remove('error');
    button.disabled = true;
    if (window.tus && window.tus.isSupported) sendTus(file);
    else sendWhole(file);
  });
})();
