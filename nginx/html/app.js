// foobar.com guestbook: lists posts from /api/posts and sends new ones.
// All user text goes into the page with textContent, never innerHTML.
'use strict';

(function () {
  var PAGE_SIZE = 20;
  var FIELDS = ['author', 'title', 'body'];

  var form = document.getElementById('post-form');
  var submitButton = document.getElementById('submit');
  var formStatus = document.getElementById('form-status');
  var list = document.getElementById('posts');
  var listStatus = document.getElementById('list-status');
  var olderButton = document.getElementById('older');
  var bodyInput = document.getElementById('body');
  var bodyCount = document.getElementById('body-count');

  var nextBefore = null;
  var retryTimer = null;
  var dateFormat = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });

  // fetch() wrapper: resolves to { status, data, retryAfter } and never throws;
  // status 0 means the network failed. data is the parsed JSON body or null.
  function api(url, options) {
    options = options || {};
    options.headers = Object.assign({ Accept: 'application/json' }, options.headers);
    return fetch(url, options).then(function (response) {
      var retryAfter = parseInt(response.headers.get('Retry-After'), 10);
      return response.json().catch(function () { return null; }).then(function (data) {
        return { status: response.status, data: data, retryAfter: retryAfter > 0 ? retryAfter : 0 };
      });
    }, function () {
      return { status: 0, data: null, retryAfter: 0 };
    });
  }

  // A sentence for the user from an error response ({error, message, field}).
  function errorText(result) {
    if (result.status === 0) return 'Could not reach the server. Check your connection and try again.';
    if (result.data && typeof result.data.message === 'string' && result.data.message) return result.data.message;
    if (result.status === 413) return 'That is too long to send.';
    if (result.status >= 500) return 'The server had a problem. Please try again in a moment.';
    return 'Something went wrong (HTTP ' + result.status + ').';
  }

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function renderPost(post) {
    var item = el('li', 'post');
    var article = el('article');
    // User text is isolated for bidirectional display: each piece takes its direction from its
    // own first strong character, and a right-to-left author (or a stray U+202E in it) cannot
    // reorder the date beside it.
    var title = el('h3', 'post-title', post.title);
    title.dir = 'auto';
    article.appendChild(title);

    var meta = el('p', 'post-meta');
    meta.appendChild(el('bdi', 'post-author', post.author));
    meta.appendChild(document.createTextNode(' · '));
    var time = el('time');
    var date = new Date(post.created_at);
    time.dateTime = post.created_at;
    time.textContent = isNaN(date) ? post.created_at : dateFormat.format(date);
    meta.appendChild(time);
    article.appendChild(meta);

    // CSS keeps the author's line breaks (white-space: pre-wrap).
    var body = el('p', 'post-body', post.body);
    body.dir = 'auto';
    article.appendChild(body);
    item.appendChild(article);
    return item;
  }

  function updateListStatus(text) {
    listStatus.textContent = text;
    listStatus.hidden = !text;
  }

  // Loads one page: the newest, or the one before `before`.
  function loadPosts(before) {
    clearTimeout(retryTimer);
    var url = '/api/posts?limit=' + PAGE_SIZE + (before != null ? '&before=' + encodeURIComponent(before) : '');
    olderButton.disabled = true;
    return api(url).then(function (result) {
      olderButton.disabled = false;
      if (result.status !== 200 || !result.data || !Array.isArray(result.data.posts)) {
        var text = errorText(result);
        // 503 = maintenance or database down: try again by ourselves.
        if (result.status === 503 || result.status === 0) {
          var seconds = result.retryAfter || 5;
          text += ' Retrying in ' + seconds + ' s…';
          retryTimer = setTimeout(function () { loadPosts(before); }, seconds * 1000);
        }
        updateListStatus(text);
        return;
      }
      result.data.posts.forEach(function (post) { list.appendChild(renderPost(post)); });
      nextBefore = result.data.next_before;
      olderButton.hidden = nextBefore == null;
      if (list.children.length === 0) updateListStatus('No posts yet. Be the first!');
      else updateListStatus('');
    });
  }

  function fieldError(name) { return document.getElementById(name + '-error'); }

  function clearErrors() {
    FIELDS.forEach(function (name) {
      fieldError(name).textContent = '';
      form.elements[name].removeAttribute('aria-invalid');
    });
    formStatus.textContent = '';
    formStatus.classList.remove('is-error');
  }

  function showError(result) {
    var text = errorText(result);
    var field = result.data && result.data.field;
    if (FIELDS.indexOf(field) !== -1) {
      fieldError(field).textContent = text;
      form.elements[field].setAttribute('aria-invalid', 'true');
      form.elements[field].focus();
    } else {
      formStatus.textContent = text;
      formStatus.classList.add('is-error');
    }
  }

  form.addEventListener('submit', function (event) {
    event.preventDefault();
    clearErrors();
    var post = {
      author: form.elements.author.value.trim(),
      title: form.elements.title.value.trim(),
      body: form.elements.body.value
    };
    submitButton.disabled = true;
    formStatus.textContent = 'Sending…';
    api('/api/posts', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(post)
    }).then(function (result) {
      submitButton.disabled = false;
      // Disabling the focused button dropped focus to <body>; give it back.
      if (document.activeElement === document.body) submitButton.focus();
      formStatus.textContent = '';
      if (result.status === 201 && result.data) {
        list.insertBefore(renderPost(result.data), list.firstChild);
        updateListStatus('');
        form.reset();
        updateCount();
        formStatus.textContent = 'Thank you! Your post is up.';
        return;
      }
      showError(result);
    });
  });

  function updateCount() {
    bodyCount.textContent = bodyInput.value.length + ' / 10000 characters';
  }
  bodyInput.addEventListener('input', updateCount);

  olderButton.addEventListener('click', function () {
    if (nextBefore != null) loadPosts(nextBefore);
  });

  loadPosts(null);
})();
