import Foundation

/// The dashboard's one stylesheet and one script (served from the same origin: the Content-Security-Policy allows
/// nothing inline).
extension HTML {
    static let stylesheet = """
        :root { color-scheme: light dark; --accent: #2563eb; --muted: #6b7280; --danger: #b91c1c; }
        * { box-sizing: border-box; }
        .field-error { display: block; color: var(--danger); font-size: .9rem; margin-top: .5rem; }
        .spark { vertical-align: middle; } .spark .ok { fill: var(--accent); } .spark .denied { fill: var(--danger); } .spark .base { fill: #8886; }
        .activity { font-size: .85rem; } .nowrap { white-space: nowrap; }
        [aria-invalid="true"] { border-color: var(--danger); }
        body { margin: 0; font: 16px/1.5 system-ui, sans-serif; }
        header { display: flex; flex-wrap: wrap; gap: .75rem; align-items: center; justify-content: space-between; padding: .75rem 1rem; border-bottom: 1px solid #8884; }
        header nav { display: flex; flex-wrap: wrap; gap: .75rem; align-items: center; }
        .brand { font-weight: 700; text-decoration: none; color: inherit; }
        main { max-width: 56rem; margin: 0 auto; padding: 1rem; }
        label { display: block; margin: .75rem 0 .25rem; font-weight: 600; }
        input[type=text], input[type=email], input[type=password], input[type=datetime-local], input[type=number], input[type=search] { width: 100%; max-width: 28rem; padding: .5rem; font: inherit; }
        fieldset { border: 1px solid #8886; margin: 1rem 0; max-width: 40rem; }
        button { font: inherit; padding: .45rem .9rem; cursor: pointer; }
        button.primary { background: var(--accent); color: #fff; border: 0; border-radius: 4px; }
        .inline { display: inline; }
        .error { color: var(--danger); font-weight: 600; }
        .notice { color: #15803d; font-weight: 600; }
        button.danger { color: var(--danger); }
        .visually-hidden { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; }
        details { margin: .5rem 0; }
        svg.qr { width: 13rem; height: 13rem; }
        textarea { width: 100%; max-width: 28rem; font: inherit; }
        .muted, .who { color: var(--muted); }
        table { border-collapse: collapse; width: 100%; }
        th, td { text-align: left; padding: .5rem; border-bottom: 1px solid #8884; vertical-align: middle; }
        .code { font: 700 1.6rem/1 ui-monospace, monospace; letter-spacing: .15em; }
        .code.stale { visibility: hidden; }
        .secret { font: 1rem ui-monospace, monospace; word-break: break-all; padding: .5rem; border: 1px dashed #8888; display: inline-block; }
        .ring { width: 2.2rem; height: 2.2rem; vertical-align: middle; }
        .ring circle { fill: none; stroke-width: 4; }
        .ring .track { stroke: #8884; }
        .ring .left { stroke: var(--accent); transform: rotate(-90deg); transform-origin: 50% 50%; }
        tr.flagged { background: #f59e0b22; }
        form.filters { display: grid; grid-template-columns: repeat(auto-fit, minmax(12rem, 1fr)); gap: 0 1rem; align-items: end; }
        select { font: inherit; padding: .45rem; }
        form.search { display: flex; flex-wrap: wrap; gap: .5rem; align-items: center; margin: 0 0 1rem; }
        form.search input { flex: 1 1 14rem; }
        dl { display: grid; grid-template-columns: max-content 1fr; gap: .25rem 1rem; } dd { margin: 0; }
        td, th { overflow-wrap: anywhere; }
        code { overflow-wrap: anywhere; }
        nav a[aria-current=page] { font-weight: 700; text-decoration-thickness: 3px; }
        @media (max-width: 40rem) {
          th.optional, td.optional { display: none; }
          header { padding: .4rem .75rem; gap: .25rem .75rem; font-size: .9rem; }
          header nav { flex-wrap: nowrap; overflow-x: auto; max-width: 100%; gap: .6rem; white-space: nowrap; }
          main { padding: .5rem .75rem; }
          h1 { font-size: 1.4rem; margin: .5rem 0; }
          /* Tables become cards: one block per row, its cells stacked. */
          table, thead, tbody, tr, td { display: block; width: 100%; }
          thead { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); }
          tr { border: 1px solid #8884; border-radius: 6px; margin: 0 0 .75rem; padding: .25rem .5rem; }
          td { border: 0; padding: .25rem 0; }
          .code { font-size: 1.3rem; letter-spacing: .08em; }
          fieldset { min-width: 0; }
          input, textarea, select { max-width: 100%; }
        }
        """

    /// The tokens page's countdowns and refresh, and the copy buttons.
    ///
    /// Each code's cell carries the end of its period (`data-expires-at`, Unix ms) and the table the server's time
    /// (`data-now`): the seconds left are computed from the clock at every tick, never counted down, so a page that
    /// was frozen (a closed laptop, a background tab) shows the truth as soon as it runs again (`visibilitychange`,
    /// `pageshow`). An expired code is hidden at once, and the next codes come from `/tokens/codes` (JSON) without a
    /// reload; once the session has ended the page says so and stops.
    static let script = """
        (function () {
          var table = document.querySelector('table[data-now]');
          if (!table) { return; }
          var offset = Number(table.dataset.now) - Date.now(), length = 2 * Math.PI * 14, fetching = false, ended = false, retryAt = 0;
          function cells() { return Array.prototype.slice.call(table.querySelectorAll('td[data-expires-at]')); }
          function draw() {
            var stale = false, now = Date.now() + offset;
            cells().forEach(function (cell) {
              var period = Number(cell.dataset.period), left = Math.ceil((Number(cell.dataset.expiresAt) - now) / 1000);
              var code = cell.parentNode.querySelector('.code'), ring = cell.querySelector('.left'), label = cell.querySelector('.seconds');
              if (left <= 0 || left > period) { stale = true; left = 0; }
              if (code) { code.classList.toggle('stale', left === 0); }
              if (ring) { ring.setAttribute('stroke-dasharray', length); ring.setAttribute('stroke-dashoffset', length * (1 - left / period)); }
              if (label) { label.textContent = left === 0 ? (ended ? 'expired' : '…') : left + ' s'; }
            });
            if (stale) { refresh(); }
          }
          function refresh() {
            if (fetching || ended || Date.now() < retryAt) { return; }
            fetching = true;
            retryAt = Date.now() + 5000;  // after a failure, the next try in 5 s (not at every tick)
            // The page's ticket names exactly the tokens it showed: every one of them is asked for, every time.
            var query = ['view=' + encodeURIComponent(table.dataset.view)];
            table.querySelectorAll('tr[data-slug]').forEach(function (row) { query.push('slug=' + encodeURIComponent(row.dataset.slug)); });
            var sent = Date.now();
            fetch('/tokens/codes?' + query.join('&'), { credentials: 'same-origin', headers: { 'Accept': 'application/json' } })
              .then(function (response) {
                if (response.status === 401 || response.status === 403) {
                  ended = true;
                  var notice = document.getElementById('codes-ended');
                  if (response.status === 403) { notice.textContent = 'These codes are no longer updated: reload the page.'; }
                  notice.hidden = false;
                  return null;
                }
                return response.ok ? response.json() : null;
              })
              .then(function (body) {
                if (!body) { return; }
                retryAt = Date.now() + 1000;  // at most one refresh a second, whatever the answer held
                var received = Date.now();
                offset = body.now - (sent + received) / 2;
                var fresh = {};
                body.codes.forEach(function (code) { fresh[code.slug] = code; });
                cells().forEach(function (cell) {
                  var code = fresh[cell.parentNode.dataset.slug], shown = cell.parentNode.querySelector('.code');
                  if (!code) {
                    // No longer readable (deleted, or the grant removed): no countdown, no refresh for it.
                    delete cell.dataset.expiresAt;
                    shown.textContent = '—';
                    shown.classList.remove('stale');
                    cell.querySelector('.seconds').textContent = 'unavailable';
                    return;
                  }
                  cell.dataset.expiresAt = code.expires_at;
                  cell.dataset.period = code.period;
                  shown.textContent = code.code;
                });
              })
              .catch(function () {})
              .then(function () { fetching = false; draw(); });
          }
          draw();
          setInterval(draw, 1000);
          document.addEventListener('visibilitychange', function () { if (!document.hidden) { draw(); } });
          window.addEventListener('pageshow', draw);
        })();
        // The messages of one inbox, or of all: wait for the next (a long-poll), add it at the top, wait again.
        (function () {
          var table = document.querySelector('table[data-inbox]');
          if (!table) { return; }
          function copyButton(button) { button.addEventListener('click', function () { copy(button); }); }
          function wait() {
            fetch('/messages/wait?' + (table.dataset.inbox ? 'inbox=' + encodeURIComponent(table.dataset.inbox) + '&' : '') + 'after=' + encodeURIComponent(table.dataset.after),
                  { credentials: 'same-origin', headers: { 'Accept': 'application/json' } })
              .then(function (response) {
                if (response.status === 401) { document.getElementById('live-status').textContent = 'Your session has ended: sign in again to see new messages.'; return 'stop'; }
                if (response.status === 403 || response.status === 404) { document.getElementById('live-status').textContent = 'New messages can no longer be shown here: reload the page.'; return 'stop'; }
                if (response.status === 204) { return null; }
                return response.ok ? response.json() : 'retry';
              })
              .then(function (message) {
                if (message === 'stop') { return; }
                if (message === 'retry') { setTimeout(wait, 5000); return; }
                if (message) {
                  table.dataset.after = message.id;
                  var row = document.createElement('tr'), cells = ['', message.from, message.to, ''];
                  cells.forEach(function (text, index) {
                    var cell = document.createElement('td'); cell.textContent = text; if (index === 2) { cell.className = 'optional'; } row.appendChild(cell);
                  });
                  var received = document.createElement('time'), date = new Date(message.received_at);
                  received.setAttribute('datetime', message.received_at); received.title = message.received_at + ' (UTC)';
                  received.textContent = isNaN(date) ? message.received_at : date.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'medium' });
                  row.firstChild.appendChild(received);
                  var last = row.lastChild;
                  if (message.code) {
                    var code = document.createElement('span'); code.className = 'code'; code.id = 'code-' + message.id; code.textContent = message.code;
                    var button = document.createElement('button'); button.type = 'button'; button.dataset.copy = code.id; button.textContent = 'Copy'; copyButton(button);
                    last.appendChild(code); last.appendChild(document.createTextNode(' ')); last.appendChild(button); last.appendChild(document.createElement('br'));
                  }
                  last.appendChild(document.createTextNode(message.body));
                  table.tBodies[0].insertBefore(row, table.tBodies[0].firstChild);
                  table.hidden = false;
                  var none = document.getElementById('no-messages'); if (none) { none.remove(); }
                  document.getElementById('live-status').textContent = 'New message from ' + message.from + '.';
                }
                wait();
              })
              .catch(function () { setTimeout(wait, 5000); });
          }
          wait();
        })();
        // Times in the reader's zone; the UTC instant stays in the title (shown on hover).
        document.querySelectorAll('time[datetime]').forEach(function (element) {
          var date = new Date(element.getAttribute('datetime'));
          if (!isNaN(date)) { element.textContent = date.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'medium' }); element.title = element.getAttribute('datetime') + ' (UTC)'; }
        });
        // A datetime-local field is the reader's local time: the form also sends the instant it means.
        document.querySelectorAll('input[type=datetime-local][data-utc]').forEach(function (input) {
          var utc = document.getElementById(input.dataset.utc), label = document.querySelector('label[for="' + input.id + '"]');
          if (label) { label.textContent = label.textContent.replace('(UTC)', '(your time, ' + Intl.DateTimeFormat().resolvedOptions().timeZone + ')'); }
          input.form.addEventListener('submit', function () {
            var date = input.value ? new Date(input.value) : null;
            utc.value = date && !isNaN(date) ? date.toISOString().replace(/\\.\\d+Z$/, 'Z') : '';
          });
        });
        // The current page, marked in the navigation.
        document.querySelectorAll('header nav a[href^="/"]').forEach(function (link) {
          var href = link.getAttribute('href');
          if (location.pathname === href || location.pathname.indexOf(href + '/') === 0) { link.setAttribute('aria-current', 'page'); }
        });
        function copy(button) {
            var target = document.getElementById(button.dataset.copy), text = target.textContent.trim();
            if (target.classList.contains('stale')) { return; }  // an expired code, hidden until the next one arrives
            function done() { button.textContent = 'Copied'; var status = document.getElementById('copy-status'); if (status) { status.textContent = 'Copied'; } }
            function fallback() {
              // Without a secure context (plain http away from localhost) there is no Clipboard API: select the text
              // and use the older copy command.
              var range = document.createRange(); range.selectNodeContents(target);
              var selection = window.getSelection(); selection.removeAllRanges(); selection.addRange(range);
              try { if (document.execCommand('copy')) { done(); } } catch (e) {}
            }
            if (navigator.clipboard && window.isSecureContext) { navigator.clipboard.writeText(text).then(done, fallback); } else { fallback(); }
        }
        document.querySelectorAll('button[data-copy]').forEach(function (button) { button.addEventListener('click', function () { copy(button); }); });
        """
}
