// SellerGuard passkeys: the browser half of the WebAuthn ceremonies.
//
// A button (or the submit button of a form) with data-passkey="register"
// adds a passkey; one with data-passkey="signin" finishes a sign-in with one;
// one with data-passkey="reauth" confirms it's you (with the password typed
// in the field data-passkey-password names).
// Optional attributes, each a CSS selector or a path:
//   data-passkey-label     the input holding the new passkey's name
//   data-passkey-remember  the checkbox "don't ask again on this browser"
//   data-passkey-error     the element that shows what went wrong
//   data-passkey-next      the same-site path to go to afterwards
//   data-passkey-password  the password input (re-authentication)
//
// The server sends options with binary members in base64url; this file turns
// them into ArrayBuffers for navigator.credentials, and the answer back into
// JSON. The session cookie goes with every request; nothing is stored here.
(function () {
  'use strict';

  function toBuffer(s) {
    var b64 = String(s).replace(/-/g, '+').replace(/_/g, '/');
    while (b64.length % 4) b64 += '=';
    var bin = atob(b64);
    var out = new Uint8Array(bin.length);
    for (var i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
    return out.buffer;
  }

  function toBase64url(buf) {
    var bytes = new Uint8Array(buf);
    var bin = '';
    for (var i = 0; i < bytes.length; i++) bin += String.fromCharCode(bytes[i]);
    return btoa(bin).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
  }

  function descriptors(list) {
    return (list || []).map(function (d) {
      var out = { type: d.type, id: toBuffer(d.id) };
      if (d.transports) out.transports = d.transports;
      return out;
    });
  }

  // creationOptions makes PublicKeyCredentialCreationOptions from JSON.
  function creationOptions(pk) {
    var o = Object.assign({}, pk);
    o.challenge = toBuffer(pk.challenge);
    o.user = Object.assign({}, pk.user, { id: toBuffer(pk.user.id) });
    if (pk.excludeCredentials) o.excludeCredentials = descriptors(pk.excludeCredentials);
    return o;
  }

  // requestOptions makes PublicKeyCredentialRequestOptions from JSON.
  function requestOptions(pk) {
    var o = Object.assign({}, pk);
    o.challenge = toBuffer(pk.challenge);
    if (pk.allowCredentials) o.allowCredentials = descriptors(pk.allowCredentials);
    return o;
  }

  // credentialJSON turns a PublicKeyCredential into the JSON the server reads.
  function credentialJSON(cred) {
    var r = cred.response;
    var response = { clientDataJSON: toBase64url(r.clientDataJSON) };
    if (r.attestationObject) {
      response.attestationObject = toBase64url(r.attestationObject);
      if (typeof r.getTransports === 'function') response.transports = r.getTransports();
    } else {
      response.authenticatorData = toBase64url(r.authenticatorData);
      response.signature = toBase64url(r.signature);
      if (r.userHandle) response.userHandle = toBase64url(r.userHandle);
    }
    var out = {
      id: cred.id,
      rawId: toBase64url(cred.rawId),
      type: cred.type,
      response: response,
      clientExtensionResults: cred.getClientExtensionResults ? cred.getClientExtensionResults() : {}
    };
    if (cred.authenticatorAttachment) out.authenticatorAttachment = cred.authenticatorAttachment;
    return out;
  }

  function postJSON(url, body) {
    return fetch(url, {
      method: 'POST',
      credentials: 'same-origin',
      headers: { 'Content-Type': 'application/json', 'Accept': 'application/json' },
      body: JSON.stringify(body || {})
    }).then(function (res) {
      return res.json().catch(function () { return null; }).then(function (data) {
        if (!res.ok) {
          var err = new Error((data && data.detail) || text('failed'));
          err.status = res.status;
          err.code = data && data.code;
          throw err;
        }
        return data;
      });
    });
  }

  // create runs navigator.credentials.create with the server's options and
  // returns the answer as JSON.
  function create(publicKey) {
    return navigator.credentials.create({ publicKey: creationOptions(publicKey) }).then(credentialJSON);
  }

  // get runs navigator.credentials.get with the server's options and returns
  // the answer as JSON.
  function get(publicKey) {
    return navigator.credentials.get({ publicKey: requestOptions(publicKey) }).then(credentialJSON);
  }

  function register(label) {
    return postJSON('/api/v1/two-step/passkeys/begin').then(function (begin) {
      return create(begin.public_key).then(function (credential) {
        return postJSON('/api/v1/two-step/passkeys/finish', { challenge_id: begin.challenge_id, label: label || '', credential: credential });
      });
    });
  }

  function signIn(remember) {
    return postJSON('/api/v1/session/second-step/passkey/begin').then(function (begin) {
      return get(begin.public_key).then(function (credential) {
        return postJSON('/api/v1/session/second-step/passkey/finish', { challenge_id: begin.challenge_id, credential: credential, remember_browser: !!remember });
      });
    });
  }

  function reauth(password) {
    return postJSON('/api/v1/session/reauth/passkey/begin').then(function (begin) {
      return get(begin.public_key).then(function (credential) {
        return postJSON('/api/v1/session/reauth/passkey/finish', { password: password, challenge_id: begin.challenge_id, credential: credential });
      });
    });
  }

  // The messages come from the page, in its language: the data- attributes
  // of #passkey-messages (templates/partials/passkey-messages.html).
  function text(name) {
    var box = document.getElementById('passkey-messages');
    return (box && box.getAttribute('data-' + name)) || '';
  }

  function messageFor(err) {
    switch (err && err.name) {
      case 'NotAllowedError':
        return text('cancelled');
      case 'InvalidStateError':
        return text('exists');
      case 'SecurityError':
        return text('refused');
      case 'NotSupportedError':
        return text('unsupported-key');
    }
    return (err && err.message) || text('failed');
  }

  function pick(el, attr) {
    var sel = el.getAttribute(attr);
    return sel ? document.querySelector(sel) : null;
  }

  function safePath(p, fallback) {
    return typeof p === 'string' && p.charAt(0) === '/' && p.charAt(1) !== '/' && p.charAt(1) !== '\\' ? p : fallback;
  }

  function bind(el) {
    var mode = el.getAttribute('data-passkey');
    var errorBox = pick(el, 'data-passkey-error');
    var busy = false;

    function show(message) {
      if (!errorBox) return;
      errorBox.textContent = message;
      errorBox.hidden = !message;
    }

    function run(event) {
      if (event) event.preventDefault();
      if (busy) return;
      if (!window.PublicKeyCredential || !navigator.credentials) {
        show(text('unsupported'));
        return;
      }
      busy = true;
      el.disabled = true;
      show('');
      var done;
      if (mode === 'register') {
        var label = pick(el, 'data-passkey-label');
        done = register(label ? label.value : '');
      } else if (mode === 'reauth') {
        var pw = pick(el, 'data-passkey-password');
        if (!pw || !pw.value) {
          busy = false;
          el.disabled = false;
          show(text('password-first'));
          return;
        }
        done = reauth(pw.value);
      } else {
        var remember = pick(el, 'data-passkey-remember');
        done = signIn(remember ? remember.checked : false);
      }
      done.then(function () {
        window.location.assign(safePath(el.getAttribute('data-passkey-next'), '/account'));
      }, function (err) {
        busy = false;
        el.disabled = false;
        show(messageFor(err));
      });
    }

    if (el.form) {
      el.form.addEventListener('submit', run);
    } else {
      el.addEventListener('click', run);
    }
  }

  window.sellerguardPasskey = { create: create, get: get, register: register, signIn: signIn, reauth: reauth };
  var els = document.querySelectorAll('[data-passkey]');
  for (var i = 0; i < els.length; i++) bind(els[i]);
})();
