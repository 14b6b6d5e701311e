package phishing

import (
	"archive/zip"
	"bytes"
	"io"
	"path"
	"strings"
)

// Attachment bounds: the names listed per archive and the bytes read of a
// zip inside a zip (one level deep). Nothing is written to disk or run.
const (
	maxArchiveEntries = 200
	maxNestedZipBytes = 1 << 20
)

// executableExt are file types that run code when opened on a common
// system (Windows first: that is where phishing malware lands).
var executableExt = map[string]bool{
	"exe": true, "scr": true, "com": true, "pif": true, "bat": true, "cmd": true, "vbs": true,
	"vbe": true, "js": true, "jse": true, "wsf": true, "wsh": true, "hta": true, "msi": true,
	"msp": true, "jar": true, "ps1": true, "psm1": true, "lnk": true, "dll": true, "cpl": true,
	"reg": true, "apk": true, "app": true, "sh": true, "iso": true, "img": true, "vhd": true,
	"vhdx": true, "appx": true, "msix": true, "chm": true, "inf": true, "scf": true, "url": true,
	"xll": true, "gadget": true, "application": true,
}

// macroExt are Office formats that carry macros (VBA) by design.
var macroExt = map[string]bool{
	"docm": true, "dotm": true, "xlsm": true, "xltm": true, "xlam": true, "xlsb": true,
	"pptm": true, "potm": true, "ppam": true, "ppsm": true, "sldm": true,
}

// legacyOfficeExt are OLE compound formats that may carry macros.
var legacyOfficeExt = map[string]bool{"doc": true, "dot": true, "xls": true, "xlt": true, "ppt": true, "pps": true, "pot": true}

var archiveExt = map[string]bool{"zip": true, "rar": true, "7z": true, "ace": true, "arj": true, "cab": true, "gz": true, "tgz": true, "tar": true, "bz2": true, "xz": true, "z": true, "lzh": true}

// harmlessExt are document types a double extension usually hides behind.
var decoyExt = map[string]bool{"pdf": true, "doc": true, "docx": true, "xls": true, "xlsx": true, "jpg": true, "jpeg": true, "png": true, "txt": true, "csv": true, "html": true, "htm": true}

var oleMagic = []byte{0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1}

func ext(name string) string {
	e := strings.ToLower(path.Ext(strings.TrimRight(strings.ReplaceAll(name, `\`, "/"), ". ")))
	return strings.TrimPrefix(e, ".")
}

// analyzeAttachment inspects an attachment's name, declared type and bytes.
func analyzeAttachment(a rawAttachment) Attachment {
	at := Attachment{Filename: a.filename, ContentType: a.contentType, Size: len(a.data)}
	name := a.filename
	e := ext(name)
	ct := strings.ToLower(a.contentType)
	add := func(code, msg string) {
		for _, r := range at.Reasons {
			if r.Code == code {
				return
			}
		}
		at.Reasons = append(at.Reasons, Reason{code, msg})
	}
	label := name
	if label == "" {
		label = "an unnamed attachment"
	}

	switch {
	case executableExt[e], bytes.HasPrefix(a.data, []byte("MZ")), bytes.HasPrefix(a.data, []byte("\x7fELF")),
		ct == "application/x-msdownload", ct == "application/x-dosexec", ct == "application/x-msdos-program",
		ct == "application/hta", ct == "application/x-ms-shortcut":
		add(CodeAttachmentExecutable, label+" is a program or script that runs when opened")
	}
	if base := strings.TrimSuffix(strings.ToLower(name), "."+e); e != "" && decoyExt[ext(base)] && (executableExt[e] || macroExt[e] || archiveExt[e]) {
		add(CodeAttachmentDoubleExtension, label+" hides its real type behind a second extension")
	}
	switch {
	case macroExt[e], strings.Contains(ct, "macroenabled"), ct == "application/vnd.ms-excel.sheet.binary.macroenabled.12":
		add(CodeAttachmentMacro, label+" is an Office document with macros")
	case bytes.HasPrefix(a.data, oleMagic) || legacyOfficeExt[e]:
		if bytes.Contains(a.data, []byte("_VBA_PROJECT")) || bytes.Contains(a.data, []byte("V\x00B\x00A\x00")) || bytes.Contains(a.data, []byte("Macros")) {
			add(CodeAttachmentMacro, label+" is an Office document with macros")
		}
	}
	if e == "html" || e == "htm" || e == "shtml" || e == "xhtml" || e == "svg" || (ct == "text/html" && name != "") {
		add(CodeAttachmentHTML, label+" is a web page that opens in the browser, a common way to show a fake sign-in form")
	}

	isZip := bytes.HasPrefix(a.data, []byte("PK\x03\x04"))
	if isZip {
		entries, hides, encrypted, macro, ok := listZip(a.data, 0)
		at.Entries = entries
		if !ok && (e == "zip" || archiveExt[e]) {
			add(CodeAttachmentUnlisted, label+" is an archive that cannot be listed")
		}
		if hides {
			add(CodeAttachmentArchiveHides, label+" contains a program or script")
		}
		if macro {
			add(CodeAttachmentMacro, label+" contains Office macros")
		}
		if encrypted {
			add(CodeAttachmentEncrypted, label+" is password-protected, which hides its content from scanners")
		}
	} else if archiveExt[e] || strings.Contains(ct, "rar") || strings.Contains(ct, "7z") {
		add(CodeAttachmentUnlisted, label+" is an archive ("+e+") whose content cannot be checked")
	}
	return at
}

// listZip lists a zip archive in memory: its entry names (bounded),
// whether an entry is a program or a macro document, and whether entries
// are encrypted. A zip inside is listed once more (depth 1) if small.
// An OOXML file (docx, xlsx) is a zip too: a vbaProject.bin in it means
// macros. ok is false if the directory cannot be read.
func listZip(data []byte, depth int) (entries []string, hides, encrypted, macro, ok bool) {
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return nil, false, false, false, false
	}
	for i, f := range zr.File {
		if i < maxArchiveEntries {
			entries = append(entries, f.Name)
		}
		if i >= 10*maxArchiveEntries {
			break
		}
		e := ext(f.Name)
		if executableExt[e] {
			hides = true
		}
		if macroExt[e] || strings.EqualFold(path.Base(f.Name), "vbaProject.bin") {
			macro = true
		}
		if f.Flags&0x1 != 0 {
			encrypted = true
		}
		if e == "zip" && depth == 0 && f.Flags&0x1 == 0 && f.UncompressedSize64 <= maxNestedZipBytes {
			rc, err := f.Open()
			if err != nil {
				continue
			}
			inner, _ := io.ReadAll(io.LimitReader(rc, maxNestedZipBytes))
			_ = rc.Close()
			_, h, enc, m, _ := listZip(inner, depth+1)
			hides, encrypted, macro = hides || h, encrypted || enc, macro || m
		}
	}
	return entries, hides, encrypted, macro, true
}
