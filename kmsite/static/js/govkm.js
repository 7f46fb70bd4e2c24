// GovKM's only script, loaded from our own origin (the Content-Security-Policy
// allows no inline code on the site: docs/security.md, "Headers").
// A filter checkbox marked data-autosubmit submits its form when changed;
// without JavaScript the form's "Apply filters" button does the same.
document.addEventListener("change", function (event) {
  var input = event.target;
  if (input.matches && input.matches("input[data-autosubmit]") && input.form) {
    input.form.submit();
  }
});
