// GovKM's own content check for Wagtail's checker (kmsite/content_checks.py):
// a link whose text (or accessible name) is only "click here", "read more"...
// Registered through the userbar's registerCheck API, as Wagtail documents.
(function () {
  "use strict";
  const userbar = window.wagtail && window.wagtail.userbar;
  if (!userbar || typeof userbar.registerCheck !== "function") return;
  userbar.registerCheck("govkm-check-link-text", function (node, options) {
    const pattern = new RegExp(options.pattern, "i");
    const name = (node.getAttribute("aria-label") || node.textContent || "")
      .replace(/\s+/g, " ").trim().replace(/[.:!…>»]+$/, "").trim();
    return !pattern.test(name);
  });
})();
