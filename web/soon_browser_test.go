package web_test

import (
	"testing"

	"github.com/civiq/civiq/browsertest"
	"github.com/civiq/civiq/civiqtest"
)

// CIVIQ.soon's function, called every 20 ms for a second (a busy hall's
// events), runs every 100 ms meanwhile, not once the calls stop: a page
// fed events closer together than its delay still shows fresh numbers.
func TestSoonBrowser(t *testing.T) {
	browsertest.Require(t)
	ds := civiqtest.New(t)
	browsertest.Run(t, `
const browser = await civiq.launch();
const page = watch(await browser.newPage());
await page.goto(process.env.CIVIQ_URL + '/halls/demo/kiosk');
const runs = await page.evaluate(async () => {
  let runs = 0;
  const f = window.CIVIQ.soon(() => runs++, 100);
  const start = Date.now();
  while (Date.now() - start < 1000) { f(); await new Promise((r) => setTimeout(r, 20)); }
  return runs;
});
assert(runs >= 4, 'runs while called every 20 ms for a second: ' + runs);
await browser.close();
`, map[string]string{"CIVIQ_URL": ds.URL})
}
