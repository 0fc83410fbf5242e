/* The detail page's dismiss button: mark the error viewed, then reload. */
(function () {
  "use strict";

  var button = document.querySelector("button.dismiss-error");
  if (!button) {
    return;
  }

  function csrfToken() {
    var stack = document.getElementById("alert-stack");
    if (stack && stack.dataset.csrfToken) {
      return stack.dataset.csrfToken;
    }
    var match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
    return match ? decodeURIComponent(match[1]) : "";
  }

  function showFailure() {
    button.disabled = false;
    button.textContent = "Could not dismiss; try again";
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
      showFailure();
    }).catch(showFailure);
  });
}());
