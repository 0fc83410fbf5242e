/* The detail page's dismiss button: mark the error viewed, then reload. */
(function () {
  "use strict";

  var button = document.querySelector("button.dismiss-error");
  if (!button) {
    return;
  }

  function csrfToken() {
    // The cookie first: a login in another tab replaces the token this page
    // was rendered with.
    var match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
    if (match) {
      return decodeURIComponent(match[1]);
    }
    var stack = document.getElementById("alert-stack");
    return stack && stack.dataset.csrfToken ? stack.dataset.csrfToken : "";
  }

  function showFailure(response) {
    button.disabled = false;
    button.textContent = response && response.status === 403 ?
      "Your session has ended; reload the page to sign in again" :
      "Could not dismiss; try again";
  }

  button.addEventListener("click", function () {
    button.disabled = true;
    fetch(button.dataset.viewedUrl, {
      method: "POST",
      credentials: "same-origin",
      headers: {"X-CSRFToken": csrfToken()}
    }).then(function (response) {
      if (response.ok) {
        window.location.reload();
        return;
      }
      showFailure(response);
    }).catch(function () {
      showFailure(null);
    });
  });
}());
