// Upload page: preview, drag-and-drop, size check, "use my location", progress indicator.
// Loaded as a file (the Content-Security-Policy forbids inline scripts). Its messages come
// translated from the page, in the form's data-msg-* attributes.
"use strict";

document.addEventListener("DOMContentLoaded", () => {
  const form = document.getElementById("upload-form");
  const fileInput = document.getElementById("scan-file");
  const dropzone = document.getElementById("dropzone");
  const preview = document.getElementById("preview");
  const clientError = document.getElementById("client-error");
  const progress = document.getElementById("progress");
  const submit = document.getElementById("submit");
  const maxBytes = Number(form.dataset.maxBytes);
  let previewUrl = null;
  // The report states the time of the result in the browser's own time zone.
  document.getElementById("timezone").value = Intl.DateTimeFormat().resolvedOptions().timeZone || "";

  function showError(message) {
    clientError.textContent = message;
    clientError.hidden = !message;
  }

  function chosenFileProblem() {
    const file = fileInput.files[0];
    if (!file) return form.dataset.msgChoose;
    if (file.size > maxBytes) return form.dataset.msgTooLarge;
    return "";
  }

  function showPreview() {
    if (previewUrl) URL.revokeObjectURL(previewUrl);
    const file = fileInput.files[0];
    previewUrl = file ? URL.createObjectURL(file) : null;
    preview.hidden = !previewUrl;
    if (previewUrl) preview.src = previewUrl;
    showError(file ? chosenFileProblem() : "");
  }

  // A file the browser cannot display (e.g. TIFF) is still uploaded; only the preview hides.
  preview.addEventListener("error", () => { preview.hidden = true; });
  fileInput.addEventListener("change", showPreview);

  dropzone.addEventListener("dragover", (event) => {
    event.preventDefault();
    dropzone.classList.add("dragging");
  });
  dropzone.addEventListener("dragleave", () => dropzone.classList.remove("dragging"));
  dropzone.addEventListener("drop", (event) => {
    event.preventDefault();
    dropzone.classList.remove("dragging");
    if (event.dataTransfer.files.length) {
      fileInput.files = event.dataTransfer.files;
      showPreview();
    }
  });

  const locateButton = document.getElementById("use-location");
  const locationStatus = document.getElementById("location-status");
  const typedPlace = document.getElementById("location");
  const latitude = document.getElementById("latitude");

  // A typed place wins over the detected position (the server applies the same rule): say which will be used.
  function describeLocationChoice() {
    if (!latitude.value) return;
    locationStatus.textContent = typedPlace.value.trim()
      ? "Your position was found, but the place you typed will be used. Clear the box to use your position."
      : "Location added. It will be used only to find centres near you.";
  }
  typedPlace.addEventListener("input", describeLocationChoice);

  if ("geolocation" in navigator) {
    locateButton.hidden = false;
    locateButton.addEventListener("click", () => {
      locationStatus.textContent = form.dataset.msgLocating;
      navigator.geolocation.getCurrentPosition(
        (position) => {
          // Two decimals (about 1 km) are enough to rank cancer centres.
          latitude.value = position.coords.latitude.toFixed(2);
          document.getElementById("longitude").value = position.coords.longitude.toFixed(2);
          describeLocationChoice();
        },
        () => {
          locationStatus.textContent = form.dataset.msgNotLocated;
        },
        { timeout: 10000, maximumAge: 600000 },
      );
    });
  }

  form.addEventListener("submit", (event) => {
    const problem = chosenFileProblem();
    if (problem) {
      event.preventDefault();
      showError(problem);
      fileInput.focus();
      return;
    }
    submit.disabled = true;
    progress.hidden = false;
  });

  // Coming back with the Back button must not leave the page looking busy.
  window.addEventListener("pageshow", () => {
    submit.disabled = false;
    progress.hidden = true;
  });
});
