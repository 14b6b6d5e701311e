package notify_test

import (
	"testing"

	"github.com/sellerguard/sellerguard/internal/i18n"
	"github.com/sellerguard/sellerguard/internal/notify"
)

// Every event and group of the catalogue has its title and description in
// the message files: the English there is the catalogue's own, and the
// Chinese is another text.
func TestCatalogueIsInEveryLanguage(t *testing.T) {
	t.Parallel()
	c := i18n.Default()
	for _, e := range notify.Catalogue() {
		for _, k := range []string{"notify." + e.Key + ".title", "notify." + e.Key + ".description"} {
			if !c.Has(i18n.English, k) || !c.Has(i18n.Chinese, k) {
				t.Errorf("%s is missing from a message file", k)
			}
		}
		if e.TitleIn(i18n.English) != e.Title || c.T(i18n.English, "notify."+e.Key+".title") != e.Title ||
			c.T(i18n.English, "notify."+e.Key+".description") != e.Description {
			t.Errorf("%s: en.toml says something else than the catalogue", e.Key)
		}
		if zh := e.TitleIn(i18n.Chinese); zh == e.Title || zh == "" || e.DescriptionIn(i18n.Chinese) == e.Description {
			t.Errorf("%s: no Chinese (%q)", e.Key, zh)
		}
		if notify.GroupTitleIn(i18n.Chinese, e.Group) == notify.GroupTitles[e.Group] {
			t.Errorf("group %s: no Chinese", e.Group)
		}
	}
}
