package phishing

import (
	"archive/zip"
	"bytes"
	"slices"
	"testing"
)

func zipOf(t *testing.T, files map[string][]byte, encrypted bool) []byte {
	t.Helper()
	var b bytes.Buffer
	zw := zip.NewWriter(&b)
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		h := &zip.FileHeader{Name: n, Method: zip.Deflate}
		if encrypted {
			h.Flags |= 0x1
		}
		w, err := zw.CreateHeader(h)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write(files[n]); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestAnalyzeAttachment(t *testing.T) {
	inner := zipOf(t, map[string][]byte{"setup.exe": []byte("MZ...")}, false)
	cases := []struct {
		name, ct string
		data     []byte
		want     []string
	}{
		{"invoice.pdf", "application/pdf", []byte("%PDF-1.7"), nil},
		{"photo.jpg", "image/jpeg", []byte("\xff\xd8\xff"), nil},
		{"report.docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document", zipOf(t, map[string][]byte{"word/document.xml": []byte("<w/>")}, false), nil},
		{"update.exe", "application/octet-stream", []byte("MZ\x90\x00"), []string{CodeAttachmentExecutable}},
		{"readme.txt", "application/octet-stream", []byte("MZ\x90\x00"), []string{CodeAttachmentExecutable}}, // content says program
		{"invoice.pdf.exe", "application/octet-stream", []byte("MZ"), []string{CodeAttachmentExecutable, CodeAttachmentDoubleExtension}},
		{"payment.js", "text/javascript", []byte("var a"), []string{CodeAttachmentExecutable}},
		{"订单.docm", "application/vnd.ms-word.document.macroEnabled.12", []byte("PK"), []string{CodeAttachmentMacro}},
		{"sheet.xlsx", "application/octet-stream", zipOf(t, map[string][]byte{"xl/vbaProject.bin": []byte("x")}, false), []string{CodeAttachmentMacro}},
		{"old.xls", "application/vnd.ms-excel", append(append([]byte{}, oleMagic...), []byte("....._VBA_PROJECT....")...), []string{CodeAttachmentMacro}},
		{"old.doc", "application/msword", append(append([]byte{}, oleMagic...), []byte("plain text")...), nil},
		{"documents.zip", "application/zip", zipOf(t, map[string][]byte{"a.pdf": []byte("%PDF"), "scan.scr": []byte("MZ")}, false), []string{CodeAttachmentArchiveHides}},
		{"nested.zip", "application/zip", zipOf(t, map[string][]byte{"inner.zip": inner}, false), []string{CodeAttachmentArchiveHides}},
		{"locked.zip", "application/zip", zipOf(t, map[string][]byte{"doc.pdf": []byte("x")}, true), []string{CodeAttachmentEncrypted}},
		{"files.rar", "application/vnd.rar", []byte("Rar!\x1a\x07"), []string{CodeAttachmentUnlisted}},
		{"broken.zip", "application/zip", []byte("PK\x03\x04garbage"), []string{CodeAttachmentUnlisted}},
		{"login.html", "text/html", []byte("<form>"), []string{CodeAttachmentHTML}},
	}
	for _, c := range cases {
		got := codes(analyzeAttachment(rawAttachment{filename: c.name, contentType: c.ct, data: c.data}).Reasons)
		got = slices.Compact(slices.Sorted(slices.Values(got)))
		want := slices.Sorted(slices.Values(c.want))
		if !slices.Equal(got, want) {
			t.Errorf("%s: got %v, want %v", c.name, got, want)
		}
	}
}
