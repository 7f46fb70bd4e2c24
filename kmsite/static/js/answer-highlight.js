/* The answer card's link (search/answers.py highlight_url) opens a page at
   ?hl=<the sentence>#answer. This marks the sentence where the page shows it
   (white space ignored, since the index joins lines), gives the mark the id
   "answer" so the link's fragment names it (and :target styles apply), and
   scrolls to it. Only text already on the page is marked: nothing from the
   URL is ever inserted. Without the sentence, or without script, the page
   simply opens at the top. */
(function () {
  "use strict";
  var wanted = new URLSearchParams(window.location.search).get("hl");
  if (!wanted) { return; }
  var target = wanted.replace(/\s+/g, "");
  var root = document.querySelector("article.knowledge") || document.getElementById("main");
  if (!target || !root) { return; }
  var walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
  var text = "", at = [];
  while (walker.nextNode()) {
    var node = walker.currentNode;
    if (node.parentElement.closest("script, style, form, nav")) { continue; }
    var value = node.nodeValue;
    for (var i = 0; i < value.length; i++) {
      if (!/\s/.test(value[i])) { text += value[i]; at.push([node, i]); }
    }
  }
  var found = text.indexOf(target);
  if (found < 0) { return; }
  var first = at[found], last = at[found + target.length - 1];
  var range = document.createRange();
  range.setStart(first[0], first[1]);
  range.setEnd(last[0], last[1] + 1);
  var mark = document.createElement("mark");
  mark.id = "answer";
  mark.className = "answer-highlight";
  mark.tabIndex = -1;
  try {
    range.surroundContents(mark);
  } catch (e) {  // the sentence crosses an element boundary
    mark.appendChild(range.extractContents());
    range.insertNode(mark);
  }
  if (window.location.hash === "#answer") {
    mark.scrollIntoView({block: "center"});
    mark.focus({preventScroll: true});
  }
})();
