// foobar.com guestbook: accounts (sign up, sign in, sign out, change password), the latest posts
// from /api/posts, your own posts, and writing and deleting posts.
// All user text goes into the page with textContent, never innerHTML. The session is an HttpOnly
// cookie the browser sends by itself (fetch's default credentials, 'same-origin'): this script
// never reads or writes document.cookie.
//
// Element ids and classes the browser test (tests/tests/browser.rs) relies on; keep them stable:
//   #signin-form #signin-username #signin-password #signin-submit   sign in (shown signed out)
//   #signup-form #signup-username #signup-password #signup-submit   create an account (signed out)
//   #signed-in-as   the signed-in username (its text is the username only)
//   #signout        the Sign out button (shown signed in)
//   #post-form #title #body #submit   write a post (present only while signed in)
//   #posts          the latest posts of everyone
//   #my-posts       your posts (signed in)
//   each post is an <li data-id="ID">; on your own posts, in both lists, the button that deletes
//   it has the class "delete".
// Others: #account-status (sign in/out announcements), #password-form #current-password
// #new-password #password-submit (change password), #signin-status #signup-status #form-status
// #password-status #signout-status (each form's status line), FIELD-error (a field's error).
'use strict';

(function () {
  var PAGE_SIZE = 20;

  function byId(id) { return document.getElementById(id); }

  var accountStatus = byId('account-status');
  var signedOutBlock = byId('signed-out');
  var signedInBlock = byId('signed-in');
  var signedInLine = byId('signed-in-line');
  var signedInAs = byId('signed-in-as');
  var signoutButton = byId('signout');
  var signoutStatus = byId('signout-status');
  var passwordDetails = signedInBlock.querySelector('details');
  var postSection = byId('post-section');
  var myPostsSection = byId('my-posts-section');
  var bodyInput = byId('body');
  var bodyCount = byId('body-count');

  // Each form: its element, submit button, status line, and the API's field names -> input ids.
  // A field's error goes in the element with id INPUT_ID + '-error'.
  function formParts(formId, submitId, statusId, fields) {
    return { form: byId(formId), submit: byId(submitId), status: byId(statusId), fields: fields };
  }
  var signinForm = formParts('signin-form', 'signin-submit', 'signin-status',
    { username: 'signin-username', password: 'signin-password' });
  var signupForm = formParts('signup-form', 'signup-submit', 'signup-status',
    { username: 'signup-username', password: 'signup-password' });
  var postForm = formParts('post-form', 'submit', 'form-status', { title: 'title', body: 'body' });
  var passwordForm = formParts('password-form', 'password-submit', 'password-status',
    { current_password: 'current-password', new_password: 'new-password' });
  var allForms = [signinForm, signupForm, postForm, passwordForm];

  // The signed-in username, or null. sessionSeq changes with every sign in and sign out, so an
  // answer that arrives after the session changed is dropped instead of shown to the wrong user.
  var username = null;
  var sessionSeq = 0;
  var sessionTimer = null;
  var dateFormat = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });

  // fetch() wrapper: resolves to { status, data, retryAfter } and never throws;
  // status 0 means the network failed. data is the parsed JSON body or null (204 has none).
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

  function sendJson(method, url, value, headers) {
    return api(url, {
      method: method,
      headers: Object.assign({ 'Content-Type': 'application/json' }, headers),
      body: JSON.stringify(value)
    });
  }

  // The API's messages as sentences: a capital first letter, a full stop at the end.
  function sentence(text) {
    text = text.trim();
    if (!text) return '';
    text = text.charAt(0).toUpperCase() + text.slice(1);
    return /[.!?…]$/.test(text) ? text : text + '.';
  }

  // A sentence for the user from an error response ({error, message, field}).
  function errorText(result) {
    if (result.status === 0) return 'Could not reach the server. Check your connection and try again.';
    var message = sentence(result.data && typeof result.data.message === 'string' ? result.data.message : '');
    if (result.status === 429) {
      // Say how long to wait, unless the message already does (the app's per-account throttle).
      if (/\d/.test(message)) return message;
      return (message || 'Too many attempts.') + ' Try again in ' +
        (result.retryAfter ? result.retryAfter + (result.retryAfter === 1 ? ' second.' : ' seconds.') : 'a moment.');
    }
    if (message) return message;
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

  // ---- forms ------------------------------------------------------------------------------

  function fieldError(inputId) { return byId(inputId + '-error'); }

  function clearFieldError(inputId) {
    fieldError(inputId).textContent = '';
    byId(inputId).removeAttribute('aria-invalid');
  }

  function setStatus(parts, text, isError) {
    parts.status.textContent = text;
    parts.status.classList.toggle('is-error', !!isError);
  }

  function clearErrors(parts) {
    Object.keys(parts.fields).forEach(function (name) { clearFieldError(parts.fields[name]); });
    setStatus(parts, '');
  }

  // Shows `text` (by default the response's own) next to the field the response names, or in
  // the form's status line when it names none of this form's fields.
  function showError(parts, result, text) {
    text = text || errorText(result);
    var field = result.data && result.data.field;
    var inputId = typeof field === 'string' && Object.prototype.hasOwnProperty.call(parts.fields, field)
      ? parts.fields[field] : null;
    if (inputId) {
      fieldError(inputId).textContent = text;
      byId(inputId).setAttribute('aria-invalid', 'true');
      byId(inputId).focus();
    } else {
      setStatus(parts, text, true);
    }
  }

  function setBusy(parts, text) {
    parts.submit.disabled = true;
    setStatus(parts, text);
  }

  function done(parts) {
    parts.submit.disabled = false;
    // Disabling the focused button dropped focus to <body>; give it back.
    if (document.activeElement === document.body) parts.submit.focus();
    setStatus(parts, '');
  }

  function resetForm(parts) {
    parts.form.reset();
    clearErrors(parts);
  }

  // Editing a field clears its error.
  allForms.forEach(function (parts) {
    Object.keys(parts.fields).forEach(function (name) {
      var inputId = parts.fields[name];
      byId(inputId).addEventListener('input', function () { clearFieldError(inputId); });
    });
  });

  // ---- post lists ---------------------------------------------------------------------------

  // One list of posts with its status line and "older" button; `url(before)` names a page.
  function postList(listId, statusId, olderId, headingId, emptyText, url) {
    var self = {
      list: byId(listId), statusLine: byId(statusId), older: byId(olderId), heading: byId(headingId),
      emptyText: emptyText, url: url, nextBefore: null, timer: null, seq: 0
    };

    self.setStatus = function (text) {
      self.statusLine.textContent = text;
      self.statusLine.hidden = !text;
    };

    self.showEmpty = function () {
      self.setStatus(self.list.children.length === 0 ? self.emptyText : '');
    };

    // Loads one page: the newest, or the one before `before`.
    self.load = function (before) {
      clearTimeout(self.timer);
      var seq = self.seq;
      self.older.disabled = true;
      return api(self.url(before)).then(function (result) {
        if (seq !== self.seq) return; // the list was emptied meanwhile (signed out)
        self.older.disabled = false;
        if (result.status !== 200 || !result.data || !Array.isArray(result.data.posts)) {
          var text = errorText(result);
          // 503 = maintenance or database down: try again by ourselves.
          if (result.status === 503 || result.status === 0) {
            var seconds = result.retryAfter || 5;
            text += ' Retrying in ' + seconds + ' s…';
            self.timer = setTimeout(function () { self.load(before); }, seconds * 1000);
          }
          self.setStatus(text);
          return;
        }
        result.data.posts.forEach(function (post) {
          // A post written on this page is already at the top.
          if (!self.find(post.id)) self.list.appendChild(renderPost(post));
        });
        self.nextBefore = result.data.next_before;
        self.older.hidden = self.nextBefore == null;
        self.showEmpty();
      });
    };

    self.clear = function () {
      self.seq += 1;
      clearTimeout(self.timer);
      self.list.textContent = '';
      self.nextBefore = null;
      self.older.hidden = true;
      self.setStatus('');
    };

    self.find = function (id) {
      return self.list.querySelector('li[data-id="' + String(id).replace(/[^0-9]/g, '') + '"]');
    };

    self.older.addEventListener('click', function () {
      if (self.nextBefore != null) self.load(self.nextBefore);
    });

    self.list.addEventListener('click', function (event) {
      var button = event.target.closest('button.delete');
      if (button && self.list.contains(button)) deletePost(button.closest('li'), button, self);
    });
    return self;
  }

  var latest = postList('posts', 'list-status', 'older', 'posts-heading', 'No posts yet. Be the first!',
    function (before) {
      return '/api/posts?limit=' + PAGE_SIZE + (before != null ? '&before=' + encodeURIComponent(before) : '');
    });
  var mine = postList('my-posts', 'my-posts-status', 'my-older', 'my-posts-heading', 'You have not posted yet.',
    function (before) {
      return '/api/users/' + encodeURIComponent(username) + '/posts?limit=' + PAGE_SIZE +
        (before != null ? '&before=' + encodeURIComponent(before) : '');
    });
  var lists = [latest, mine];

  function renderPost(post) {
    var item = el('li', 'post');
    item.dataset.id = String(post.id);
    item.dataset.author = post.author;
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
    syncDeleteButton(item);
    return item;
  }

  // Your own posts get a Delete button (with an error line of its own); others' have none.
  function syncDeleteButton(item) {
    var own = username !== null && item.dataset.author === username;
    var actions = item.querySelector('.post-actions');
    if (own && !actions) {
      actions = el('div', 'post-actions');
      var button = el('button', 'delete secondary', 'Delete');
      button.type = 'button';
      var title = item.querySelector('.post-title').textContent;
      button.setAttribute('aria-label', 'Delete your post “' + title + '”');
      var error = el('p', 'field-error post-error');
      error.setAttribute('role', 'status');
      actions.appendChild(button);
      actions.appendChild(error);
      item.querySelector('article').appendChild(actions);
    } else if (!own && actions) {
      actions.remove();
    }
  }

  function syncDeleteButtons() {
    lists.forEach(function (posts) {
      Array.prototype.forEach.call(posts.list.children, syncDeleteButton);
    });
  }

  function deletePost(item, button, from) {
    var id = item.dataset.id;
    var error = item.querySelector('.post-error');
    button.disabled = true;
    error.textContent = '';
    var seq = sessionSeq;
    api('/api/posts/' + encodeURIComponent(id), { method: 'DELETE' }).then(function (result) {
      if (seq !== sessionSeq) return;
      // 404: it is gone already (deleted on another page): the lists should not show it either.
      if (result.status === 204 || result.status === 404) {
        lists.forEach(function (posts) {
          var shown = posts.find(id);
          if (shown) shown.remove();
          posts.showEmpty();
        });
        if (from.list.children.length > 0) {
          from.setStatus(result.status === 204 ? 'Your post was deleted.' : 'That post was already deleted.');
        }
        // The focused button is gone: continue from the list's heading.
        from.heading.focus();
        return;
      }
      button.disabled = false;
      if (result.status === 401) { sessionExpired(); return; }
      error.textContent = errorText(result);
    });
  }

  // ---- the session ----------------------------------------------------------------------------

  function setAccountStatus(text, isError) {
    accountStatus.textContent = text;
    accountStatus.classList.toggle('is-error', !!isError);
  }

  // Moves focus to `target` when the focused element was just hidden (or focus was nowhere).
  function keepFocus(target) {
    var active = document.activeElement;
    if (!active || active === document.body || active.closest('[hidden]')) target.focus();
  }

  function setSignedIn(name, message, moveFocus) {
    username = name;
    sessionSeq += 1;
    pendingPost = null;
    signedInAs.textContent = name;
    byId('password-username').value = name;
    [signinForm, signupForm].forEach(resetForm);
    signedOutBlock.hidden = true;
    signedInBlock.hidden = false;
    postSection.hidden = false;
    myPostsSection.hidden = false;
    signoutStatus.textContent = '';
    setAccountStatus(message);
    mine.clear();
    mine.setStatus('Loading your posts…');
    mine.load(null);
    syncDeleteButtons();
    if (moveFocus) keepFocus(signedInLine);
  }

  // keepPost: the post being written stays in the (hidden) form for after signing in again.
  function setSignedOut(message, isError, moveFocus, keepPost) {
    username = null;
    sessionSeq += 1;
    pendingPost = null;
    signedInAs.textContent = '';
    byId('password-username').value = '';
    resetForm(passwordForm);
    passwordDetails.open = false;
    if (!keepPost) { resetForm(postForm); updateCount(); }
    postForm.submit.disabled = false;
    signedInBlock.hidden = true;
    postSection.hidden = true;
    myPostsSection.hidden = true;
    signedOutBlock.hidden = false;
    setAccountStatus(message, isError);
    mine.clear();
    syncDeleteButtons();
    if (moveFocus) keepFocus(byId('signin-username'));
  }

  // A write answered 401: the session ended (expired, or signed out elsewhere).
  function sessionExpired() {
    setSignedOut('Your session has ended. Please sign in again.', true, true, true);
  }

  // Asks GET /api/me who is signed in; calls onAnswer(username) on 200 and onAnswer(null) on
  // 401. While the API is unavailable (503, network) it says so and asks again by itself.
  function checkSession(onAnswer) {
    clearTimeout(sessionTimer);
    return api('/api/me').then(function (result) {
      if (result.status === 200 && result.data && typeof result.data.username === 'string') {
        onAnswer(result.data.username);
        return;
      }
      if (result.status === 401) { onAnswer(null); return; }
      var text = 'Could not check whether you are signed in: ' + errorText(result);
      if (result.status === 503 || result.status === 0) {
        var seconds = result.retryAfter || 5;
        text += ' Retrying in ' + seconds + ' s…';
        sessionTimer = setTimeout(function () { checkSession(onAnswer); }, seconds * 1000);
      }
      setAccountStatus(text, true);
    });
  }

  // After a successful sign-in or sign-up: the cookie is set, /api/me says who we are.
  function enterSession(parts, message) {
    return checkSession(function (name) {
      done(parts);
      if (name) {
        setSignedIn(name, message(name), true);
      } else {
        setStatus(parts, 'You were signed in, but the browser did not keep the session. ' +
          'Allow cookies for this site and try again.', true);
      }
    });
  }

  signinForm.form.addEventListener('submit', function (event) {
    event.preventDefault();
    clearErrors(signinForm);
    setAccountStatus('');
    var elements = signinForm.form.elements;
    setBusy(signinForm, 'Signing in…');
    sendJson('POST', '/api/session', {
      username: elements.username.value.trim(),
      password: elements.password.value
    }).then(function (result) {
      if (result.status === 204) {
        enterSession(signinForm, function (name) { return 'Welcome back, ' + name + '. You are signed in.'; });
        return;
      }
      done(signinForm);
      if (result.status === 401) {
        // The same answer for an unknown user and a wrong password.
        elements.password.value = '';
        showError(signinForm, { data: { field: 'password' } }, 'Wrong username or password.');
        return;
      }
      showError(signinForm, result);
    });
  });

  signupForm.form.addEventListener('submit', function (event) {
    event.preventDefault();
    clearErrors(signupForm);
    setAccountStatus('');
    var elements = signupForm.form.elements;
    setBusy(signupForm, 'Creating your account…');
    sendJson('POST', '/api/users', {
      username: elements.username.value.trim(),
      password: elements.password.value
    }).then(function (result) {
      if (result.status === 201) {
        enterSession(signupForm, function (name) { return 'Welcome, ' + name + '! Your account is ready and you are signed in.'; });
        return;
      }
      done(signupForm);
      showError(signupForm, result);
    });
  });

  signoutButton.addEventListener('click', function () {
    signoutButton.disabled = true;
    signoutStatus.textContent = 'Signing out…';
    signoutStatus.classList.remove('is-error');
    api('/api/session', { method: 'DELETE' }).then(function (result) {
      signoutButton.disabled = false;
      signoutStatus.textContent = '';
      if (result.status === 204) {
        setSignedOut('You are signed out.', false, true, false);
        return;
      }
      signoutStatus.textContent = errorText(result);
      signoutStatus.classList.add('is-error');
      if (document.activeElement === document.body) signoutButton.focus();
    });
  });

  passwordForm.form.addEventListener('submit', function (event) {
    event.preventDefault();
    clearErrors(passwordForm);
    var elements = passwordForm.form.elements;
    setBusy(passwordForm, 'Changing your password…');
    var seq = sessionSeq;
    sendJson('PUT', '/api/me/password', {
      current_password: elements.current_password.value,
      new_password: elements.new_password.value
    }).then(function (result) {
      if (seq !== sessionSeq) return;
      done(passwordForm);
      if (result.status === 204) {
        passwordForm.form.reset();
        setStatus(passwordForm, 'Your password is changed. Your other sessions were signed out.');
        return;
      }
      if (result.status === 401) { sessionExpired(); return; }
      // The API's 422 for a wrong current password names the field by its JSON key.
      if (result.status === 422 && result.data && result.data.field === 'current_password') {
        showError(passwordForm, result, 'That is not your current password.');
        return;
      }
      showError(passwordForm, result);
    });
  });

  // ---- writing a post -----------------------------------------------------------------------

  // The same post sent again (after a network error or a 5xx) carries the same Idempotency-Key,
  // so a first attempt that did reach the app is not written twice. A new post gets a new key.
  var pendingPost = null;

  function idempotencyKey(json) {
    if (!pendingPost || pendingPost.json !== json) {
      var bytes = new Uint8Array(16);
      crypto.getRandomValues(bytes);
      var key = Array.prototype.map.call(bytes, function (b) { return ('0' + b.toString(16)).slice(-2); }).join('');
      pendingPost = { json: json, key: key };
    }
    return pendingPost.key;
  }

  postForm.form.addEventListener('submit', function (event) {
    event.preventDefault();
    clearErrors(postForm);
    var elements = postForm.form.elements;
    var post = { title: elements.title.value.trim(), body: elements.body.value };
    var json = JSON.stringify(post);
    var seq = sessionSeq;
    setBusy(postForm, 'Sending…');
    sendJson('POST', '/api/posts', post, { 'Idempotency-Key': idempotencyKey(json) }).then(function (result) {
      if (seq !== sessionSeq) return;
      done(postForm);
      if (result.status === 201 && result.data) {
        pendingPost = null;
        lists.forEach(function (posts) {
          if (!posts.find(result.data.id)) posts.list.insertBefore(renderPost(result.data), posts.list.firstChild);
          posts.setStatus('');
        });
        postForm.form.reset();
        updateCount();
        setStatus(postForm, 'Thank you! Your post is up.');
        return;
      }
      if (result.status === 401) { sessionExpired(); return; }
      showError(postForm, result);
    });
  });

  function updateCount() {
    bodyCount.textContent = bodyInput.value.length + ' / 10000 characters';
  }
  bodyInput.addEventListener('input', updateCount);

  // ---- start ----------------------------------------------------------------------------------

  checkSession(function (name) {
    if (name) setSignedIn(name, '', false);
    else setSignedOut('', false, false, false);
  });
  latest.load(null);
})();
