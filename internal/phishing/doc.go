// Package phishing analyses a message (or a single link) that a seller
// reports as suspected phishing, and tells whether a sender claims to be
// the platform. It is pure: no HTTP, no SQL, no storage. The only network
// traffic it ever causes is DNS, and only through the Resolver in Config;
// with a nil Resolver it makes none at all.
//
// What it guards: sellers who receive an email or a link and ask "is this
// really from SellerGuard?". Analyze reports
//
//   - sender authentication: SPF (RFC 7208, implemented here), DKIM
//     (RFC 6376, github.com/emersion/go-msgauth) and DMARC (RFC 7489,
//     record parsing by go-msgauth) with identifier alignment to the From
//     domain;
//   - look-alike sender and link domains: the UTS #39 confusable skeleton
//     (github.com/mtibben/confusables), punycode labels, mixed scripts,
//     small edit distance to the configured brand domains, and the brand
//     name on another registrable domain (public suffix list);
//   - deceptive links: visible text naming one host while the href goes to
//     another, IP-literal hosts, URL shorteners, user-info tricks,
//     javascript: and data: links;
//   - what the message asks for: passwords, codes, bank or card details,
//     "verify your account" and urgency, in English and Simplified Chinese;
//   - dangerous attachments: executables, macro documents, archives hiding
//     them (zip listings are read in memory, with bounds);
//
// and combines them into a Verdict with Reasons, each with a stable
// snake_case Code (see the Code constants); the Messages are English.
//
// Verdicts: VerdictPhishing when the evidence is decisive (a look-alike or
// spoofed platform sender, a dangerous attachment, or several signals
// together), VerdictSuspicious when some signals are present,
// VerdictNoThreatFound otherwise. Each reason carries a weight (see
// weights in reasons.go); a score of 6 or more is phishing, 3 or more is
// suspicious. A message from a platform address counts as the platform's
// own (brand_authenticated) only when a DKIM signature of a brand domain
// aligned with From verifies, or DMARC passes: this relies on the
// platform's DKIM key and SPF record being published in DNS. Whether it
// really is a message the platform sent is for the sent-mail ledger to
// say (the mail-verify route), not this package.
//
// Where the connecting IP comes from: a reported message reaches us after
// its delivery (forwarded or pasted by the seller), so the IP address that
// SPF needs is read from the Received header fields: the topmost one whose
// "from" clause names a public (not private, loopback or link-local)
// address literal, which is the hop where the seller's mailbox provider
// accepted the message. The MAIL FROM identity is the Return-Path field
// (the HELO name from that Received field when the Return-Path is empty).
// Authentication-Results fields in the message are NOT trusted: anyone can
// write them, and we cannot know which authserv-id the seller's provider
// uses. SPF is therefore a best effort: lower hops can be forged by the
// sender, internal hops of a provider with public addresses can be taken
// for the connecting one, and a record changed since delivery gives a
// different answer. DKIM and DMARC do not depend on the hop and are the
// stronger evidence.
//
// Bounds (Config; zero means the default): message size (1 MiB), MIME parts
// (200), MIME depth including nested message/rfc822 (10), header fields per
// header block (500) and time per analysis (2 s, a context deadline checked
// while walking, between pieces of text, HTML tokens and links, and before
// each DNS query). DNS gets at most half of the time: when it does not
// answer, SPF, DKIM and DMARC are temperror and the rest goes on. Further
// fixed bounds: 500 links, 200 listed archive entries, 64 KiB of text read
// for what the message asks, 5 DKIM signatures, 10 SPF lookups. Input over a bound is refused
// with a *sellerguard.Error whose Code is one of the ECode constants
// here (the web layer maps them to HTTP status); all other input,
// however malformed, gets an Analysis.
//
// Caveats: the content checks are keyword heuristics and can be evaded by
// images or unusual wording; a legitimate message that asks for a code can
// be marked suspicious. The package never fetches a URL, never resolves a
// link's host, and never opens an attachment beyond reading its bytes in
// memory (zip directories are listed, nested zips one level deep with a
// size limit; nothing is extracted to disk or run). The confusables table
// is that of the confusables module (Unicode 13).
package phishing
