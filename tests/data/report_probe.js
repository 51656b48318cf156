// Injected into a copy of the Snakemake report by tests/test_workflow.py and run in headless chromium: opens
// a category, clicks the eye (view) button of one result, and writes what the content pane then shows into
// a div with id curiosft-probe (read back from chromium's --dump-dom): an image's natural size, or the table
// HTML inside the iframe's data URI.
function curiosftProbe(category, label) {
  const report = text => {
    const div = document.createElement("div");
    div.id = "curiosft-probe";
    div.textContent = text;
    document.body.appendChild(div);
  };
  const when = (test, then, tries = 150) => {
    const found = test();
    if (found) return then(found);
    if (tries > 0) return setTimeout(() => when(test, then, tries - 1), 100);
    report("timeout waiting in " + category + " for " + label);
  };
  const anchor = text => Array.from(document.querySelectorAll("a")).find(a => a.textContent.trim() === text);
  const viewButton = () => {
    const cell = Array.from(document.querySelectorAll("td")).find(td => td.textContent.trim() === label);
    return cell && cell.parentElement.querySelector("a[iconname=eye]");
  };
  when(() => anchor(category), link => {
    link.click();
    when(viewButton, button => {
      button.click();
      when(() => document.querySelector("img[src^='data:image/png']") || document.querySelector("iframe[src^='data:']"),
        shown => {
          if (shown.tagName === "IMG") {
            when(() => shown.complete && shown.naturalWidth > 0 && shown,
              img => report("image " + img.naturalWidth + "x" + img.naturalHeight));
          } else {
            const payload = shown.getAttribute("src").split("base64,")[1] || "";
            report("iframe " + atob(payload).replace(/\s+/g, " "));
          }
        });
    });
  });
}
