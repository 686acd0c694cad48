// A signed link from a Waymark e-mail carries its token after "#". Browsers never send
// that part to a server, so the token stays out of access logs and Referer headers.
// This takes it out of the address bar (and so out of the page's history entry) and
// posts it once; the server keeps it in the session from then on.
(function () {
  var form = document.getElementById("signed-link-open");
  var token = window.location.hash.slice(1);
  if (!form || !token) {
    return;
  }
  window.history.replaceState(null, "", window.location.pathname + window.location.search);
  form.elements.token.value = decodeURIComponent(token);
  form.submit();
})();
