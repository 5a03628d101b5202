// "Find centres near me": progressive enhancement. Without JavaScript (or
// without permission to use the location) the search form works as it is.
(function () {
  "use strict";
  var slot = document.getElementById("near-me-slot");
  var form = document.getElementById("find-form");
  if (!slot || !form || !("geolocation" in navigator)) { return; }
  var status = document.getElementById("near-me-status");
  var button = document.createElement("button");
  button.type = "button";
  button.className = "button secondary";
  button.textContent = "Find centres near me";
  slot.appendChild(button);

  button.addEventListener("click", function () {
    status.textContent = "Finding your location…";
    button.disabled = true;
    navigator.geolocation.getCurrentPosition(function (position) {
      document.getElementById("lat").value = position.coords.latitude.toFixed(5);
      document.getElementById("lon").value = position.coords.longitude.toFixed(5);
      document.getElementById("place").value = "";
      status.textContent = "Showing centres near you.";
      form.submit();
    }, function () {
      button.disabled = false;
      status.textContent = "We could not get your location. Type your postcode or ward instead.";
    }, { timeout: 10000, maximumAge: 600000 });
  });
}());
