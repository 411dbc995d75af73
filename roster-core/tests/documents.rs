//! CV uploads: type by content (BL-14), file names that try to leave the
//! storage directory (BL-13), ZIP bombs, and the two document stores.

mod common;

use std::collections::BTreeSet;
use std::io::{self, Cursor, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use proptest::prelude::*;
use roster_core::documents::{
    CvPolicy, Detected, DocumentError, DocumentId, DocumentKind, DocumentStore, FsDocuments,
    MAX_NAME_BYTES, MemoryDocuments, display_name,
};
use roster_core::{Actor, RosterError};
use unicode_normalization::UnicodeNormalization;
use unicode_segmentation::UnicodeSegmentation;
use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, ZipWriter};

const TEN_MB: u64 = 10_000_000;

fn pdf() -> Vec<u8> {
    b"%PDF-1.7\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n".to_vec()
}

/// A ZIP archive of `(name, content)` entries, deflated.
fn zip_of(entries: &[(&str, &[u8])]) -> Vec<u8> {
    let mut writer = ZipWriter::new(Cursor::new(Vec::new()));
    for (name, content) in entries {
        writer
            .start_file(*name, SimpleFileOptions::default())
            .unwrap();
        writer.write_all(content).unwrap();
    }
    writer.finish().unwrap().into_inner()
}

fn docx() -> Vec<u8> {
    zip_of(&[
        ("[Content_Types].xml", b"<Types/>"),
        ("_rels/.rels", b"<Relationships/>"),
        ("word/document.xml", b"<w:document><w:body/></w:document>"),
    ])
}

fn odt_with_mimetype(mimetype: &[u8]) -> Vec<u8> {
    let mut writer = ZipWriter::new(Cursor::new(Vec::new()));
    // OpenDocument puts `mimetype` first and uncompressed.
    let stored = SimpleFileOptions::default().compression_method(CompressionMethod::Stored);
    writer.start_file("mimetype", stored).unwrap();
    writer.write_all(mimetype).unwrap();
    writer
        .start_file("content.xml", SimpleFileOptions::default())
        .unwrap();
    writer.write_all(b"<office:document-content/>").unwrap();
    writer.finish().unwrap().into_inner()
}

fn odt() -> Vec<u8> {
    odt_with_mimetype(b"application/vnd.oasis.opendocument.text")
}

/// The BL-14 policy: PDF and DOCX, 10 MB.
fn bl14_policy() -> CvPolicy {
    CvPolicy {
        allowed: [DocumentKind::Pdf, DocumentKind::Docx].into(),
        ..CvPolicy::default()
    }
}

fn check(bytes: &[u8], name: &str) -> Result<DocumentKind, DocumentError> {
    bl14_policy().check(bytes, name).map(|d| d.kind())
}

/// Counts the bytes handed out by the reader it wraps.
struct Counting<R> {
    inner: R,
    count: u64,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count += n as u64;
        Ok(n)
    }
}

/// A PDF header followed by `len - 9` filler bytes, generated as read.
fn pdf_stream(len: u64) -> Counting<impl Read> {
    Counting {
        inner: b"%PDF-1.7\n".chain(io::repeat(b'0').take(len - 9)),
        count: 0,
    }
}

// BL-14 ------------------------------------------------------------------

#[test]
fn bl14_a_pdf_is_accepted() {
    assert_eq!(check(&pdf(), "cv.pdf").unwrap(), DocumentKind::Pdf);
}

#[test]
fn bl14_b_space_before_the_pdf_header_is_accepted() {
    let mut bytes = b" ".to_vec();
    bytes.extend(pdf());
    assert_eq!(check(&bytes, "cv.pdf").unwrap(), DocumentKind::Pdf);

    // Anywhere in the first 1,024 bytes, and not after.
    let mut late = vec![b'\n'; 1_019];
    late.extend(pdf());
    assert_eq!(check(&late, "cv.pdf").unwrap(), DocumentKind::Pdf);
    let mut too_late = vec![b'\n'; 1_021];
    too_late.extend(pdf());
    assert!(matches!(
        check(&too_late, "cv.pdf"),
        Err(DocumentError::Unsupported {
            detected: Detected::Unknown
        })
    ));
}

#[test]
fn bl14_c_docx_named_pdf_does_not_match_its_name() {
    let bytes = docx();
    assert!(bytes.starts_with(b"PK\x03\x04"));
    let err = check(&bytes, "cv.pdf").unwrap_err();
    assert!(
        matches!(
            &err,
            DocumentError::NameMismatch { detected: DocumentKind::Docx, extension } if extension == "pdf"
        ),
        "{err:?}"
    );
    assert_eq!(
        err.to_string(),
        "the CV content is DOCX but the file name ends in .pdf; name it .docx or upload the intended file"
    );
}

#[test]
fn bl14_d_executable_named_docx_is_unsupported() {
    let mut bytes = b"MZ\x90\x00\x03\x00\x00\x00".to_vec();
    bytes.extend([0u8; 120]);
    let err = check(&bytes, "cv.docx").unwrap_err();
    assert!(matches!(
        err,
        DocumentError::Unsupported {
            detected: Detected::Executable
        }
    ));
    assert_eq!(
        err.to_string(),
        "the CV file is a Windows executable (MZ header), not a PDF, DOCX or ODT document"
    );
}

#[test]
fn bl14_e_zip_without_word_parts_is_not_a_document() {
    let bytes = zip_of(&[("notes.txt", b"hello"), ("photo.jpg", b"\xff\xd8\xff")]);
    let err = check(&bytes, "cv.docx").unwrap_err();
    assert!(
        matches!(err, DocumentError::NotWordProcessing { .. }),
        "{err:?}"
    );
    assert_eq!(
        err.to_string(),
        "the CV archive is not a word-processing document: it has no \
         [Content_Types].xml and word/document.xml (DOCX) or mimetype (ODT)"
    );

    // Content types alone, as in a spreadsheet, name the missing part.
    let xlsx = zip_of(&[
        ("[Content_Types].xml", b"<Types/>"),
        ("xl/workbook.xml", b"<workbook/>"),
    ]);
    assert!(matches!(
        check(&xlsx, "cv.docx"),
        Err(DocumentError::NotWordProcessing {
            missing: "word/document.xml"
        })
    ));
}

#[test]
fn bl14_f_legacy_ole_word_is_unsupported() {
    let mut bytes = vec![0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1];
    bytes.extend([0u8; 504]);
    let err = check(&bytes, "cv.doc").unwrap_err();
    assert!(matches!(
        err,
        DocumentError::Unsupported {
            detected: Detected::LegacyOffice
        }
    ));
}

#[test]
fn bl14_g_empty_file_is_refused() {
    let err = check(b"", "cv.pdf").unwrap_err();
    assert!(matches!(err, DocumentError::Empty));
    assert_eq!(
        err.to_string(),
        "the CV file is empty (0 bytes); upload a PDF, DOCX or ODT file"
    );
}

#[test]
fn bl14_h_ten_megabytes_plus_one_is_refused_while_streaming() {
    let policy = bl14_policy();
    let mut body = pdf_stream(TEN_MB + 1);
    let err = policy.check(&mut body, "cv.pdf").unwrap_err();
    assert!(matches!(err, DocumentError::TooLarge { limit: TEN_MB }));
    assert_eq!(body.count, TEN_MB + 1);

    // A body with no end is read one byte past the limit, then left.
    let mut endless = Counting {
        inner: b"%PDF-1.7\n".chain(io::repeat(b'0')),
        count: 0,
    };
    let err = policy.check(&mut endless, "cv.pdf").unwrap_err();
    assert!(matches!(err, DocumentError::TooLarge { .. }));
    assert_eq!(endless.count, TEN_MB + 1);

    // Exactly at the limit is fine.
    let mut body = pdf_stream(TEN_MB);
    let checked = policy.check(&mut body, "cv.pdf").unwrap();
    assert_eq!(checked.bytes().len() as u64, TEN_MB);
}

#[test]
fn bl14_refusals_give_distinct_reasons() {
    let mut exe = b"MZ".to_vec();
    exe.extend([0u8; 64]);
    let mut ole = vec![0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1];
    ole.extend([0u8; 64]);
    let no_parts = zip_of(&[("a.txt", b"a")]);
    let messages: BTreeSet<String> = [
        check(&exe, "cv.docx"),
        check(&no_parts, "cv.docx"),
        check(&ole, "cv.doc"),
        check(b"", "cv.pdf"),
    ]
    .into_iter()
    .map(|r| r.unwrap_err().to_string())
    .collect();
    assert_eq!(messages.len(), 4, "{messages:?}");
}

#[test]
fn the_parser_follows_the_content_not_the_name() {
    // The same DOCX under any name is inspected as an archive.
    for name in ["cv.pdf", "cv.odt", "cv.txt"] {
        assert!(matches!(
            check(&docx(), name),
            Err(DocumentError::NameMismatch {
                detected: DocumentKind::Docx,
                ..
            })
        ));
    }
    // Names without an extension, or with a dot that is not one, claim
    // nothing.
    assert_eq!(check(&docx(), "cv").unwrap(), DocumentKind::Docx);
    assert_eq!(check(&pdf(), "J. Smith CV").unwrap(), DocumentKind::Pdf);
    assert_eq!(check(&pdf(), "CV.PDF").unwrap(), DocumentKind::Pdf);
}

#[test]
fn an_executable_that_also_holds_a_pdf_header_is_an_executable() {
    let mut bytes = b"MZ".to_vec();
    bytes.extend(pdf());
    assert!(matches!(
        check(&bytes, "cv.pdf"),
        Err(DocumentError::Unsupported {
            detected: Detected::Executable
        })
    ));
}

#[test]
fn other_known_types_are_named() {
    let png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec();
    let err = check(&png, "cv.pdf").unwrap_err();
    assert!(matches!(
        err,
        DocumentError::Unsupported {
            detected: Detected::Other("image/png")
        }
    ));
}

#[test]
fn docx_and_odt_are_accepted_by_default() {
    let policy = CvPolicy::default();
    let checked = policy.check(docx().as_slice(), "cv.docx").unwrap();
    assert_eq!(checked.kind(), DocumentKind::Docx);
    let checked = policy.check(odt().as_slice(), "cv.odt").unwrap();
    assert_eq!(checked.kind(), DocumentKind::Odt);
    assert_eq!(checked.display_name(), "cv.odt");
    assert_eq!(checked.sha256().len(), 64);
}

#[test]
fn a_kind_outside_the_policy_is_refused() {
    let err = check(&odt(), "cv.odt").unwrap_err();
    assert!(matches!(
        err,
        DocumentError::KindNotAllowed {
            kind: DocumentKind::Odt,
            ..
        }
    ));
    assert_eq!(
        err.to_string(),
        "ODT CVs are not accepted; upload one of: PDF, DOCX"
    );
}

#[test]
fn an_opendocument_spreadsheet_is_not_a_text_document() {
    let ods = odt_with_mimetype(b"application/vnd.oasis.opendocument.spreadsheet");
    assert!(matches!(
        CvPolicy::default().check(ods.as_slice(), "cv.odt"),
        Err(DocumentError::NotWordProcessing { .. })
    ));
}

// ZIP bombs ----------------------------------------------------------------

#[test]
fn an_archive_with_too_many_entries_is_refused() {
    let names: Vec<String> = (0..1_001).map(|i| format!("e/{i}.xml")).collect();
    let mut entries: Vec<(&str, &[u8])> = vec![
        ("[Content_Types].xml", b"<Types/>"),
        ("word/document.xml", b"<w:document/>"),
    ];
    entries.extend(names.iter().map(|n| (n.as_str(), &b""[..])));
    let err = check(&zip_of(&entries), "cv.docx").unwrap_err();
    assert!(matches!(
        err,
        DocumentError::TooManyEntries {
            entries: 1_003,
            limit: 1_000
        }
    ));
}

#[test]
fn a_highly_compressible_entry_is_refused() {
    let zeros = vec![0u8; 60_000_000];
    let bomb = zip_of(&[
        ("[Content_Types].xml", b"<Types/>"),
        ("word/document.xml", zeros.as_slice()),
    ]);
    assert!(bomb.len() < 200_000, "{}", bomb.len());

    // Past the 50 MB inflated-size limit.
    let no_ratio = CvPolicy {
        max_compression_ratio: None,
        ..CvPolicy::default()
    };
    assert!(matches!(
        no_ratio.check(bomb.as_slice(), "cv.docx"),
        Err(DocumentError::InflatesTooLarge { limit: 50_000_000 })
    ));

    // And past 100 times its own size.
    let ratio_limit = 100 * bomb.len() as u64;
    let err = CvPolicy::default()
        .check(bomb.as_slice(), "cv.docx")
        .unwrap_err();
    assert!(
        matches!(err, DocumentError::InflatesTooLarge { limit } if limit == ratio_limit),
        "{err:?}"
    );
}

#[test]
fn an_entry_that_inflates_past_its_declared_size_is_refused() {
    let zeros = vec![0u8; 20_000_000];
    let bomb = zip_of(&[("word/document.xml", zeros.as_slice())]);
    // Declare 1,000 bytes in the local header (offset 22) and the central
    // directory entry (offset 24); the deflated data still holds 20 MB.
    let mut crafted = bomb.clone();
    let local = find(&crafted, b"PK\x03\x04").unwrap();
    crafted[local + 22..local + 26].copy_from_slice(&1_000u32.to_le_bytes());
    let central = find(&crafted, b"PK\x01\x02").unwrap();
    crafted[central + 24..central + 28].copy_from_slice(&1_000u32.to_le_bytes());

    let policy = CvPolicy {
        max_compression_ratio: None,
        ..CvPolicy::default()
    };
    let err = policy.check(crafted.as_slice(), "cv.docx").unwrap_err();
    assert!(
        matches!(err, DocumentError::CorruptArchive { entry: Some(0), .. }),
        "{err:?}"
    );
    assert_eq!(
        err.to_string(),
        "the CV archive could not be read (entry 0)"
    );
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

#[test]
fn a_truncated_archive_is_corrupt() {
    let mut bytes = docx();
    bytes.truncate(bytes.len() / 2);
    assert!(matches!(
        check(&bytes, "cv.docx"),
        Err(DocumentError::CorruptArchive { .. })
    ));
}

// BL-13 ------------------------------------------------------------------

#[test]
fn bl13_display_names() {
    let cases = [
        ("../../etc/cron.d/cv.pdf", "cv.pdf"),
        ("..\\..\\roster.db", "roster.db"),
        ("/tmp/cv.pdf", "cv.pdf"),
        ("C:\\Users\\x\\cv.pdf", "cv.pdf"),
        ("C:cv.pdf", "cv.pdf"),
        ("CON.pdf", "CON.pdf"),
        (".", "cv"),
        ("..", "cv"),
        ("", "cv"),
        ("dir/", "cv"),
        ("ประวัติ ณัฐ.pdf", "ประวัติ ณัฐ.pdf"),
        ("cv\u{7}\u{1b}[31m.pdf", "cv[31m.pdf"),
        ("cv\u{202E}fdp.exe", "cvfdp.exe"),
        // Decomposed é is composed.
        ("re\u{301}sume\u{301}.pdf", "r\u{e9}sum\u{e9}.pdf"),
    ];
    for (raw, shown) in cases {
        assert_eq!(display_name(raw).unwrap(), shown, "{raw:?}");
    }
}

#[test]
fn bl13_a_name_with_nul_is_refused() {
    let err = display_name("cv.pdf\0.exe").unwrap_err();
    assert!(matches!(err, DocumentError::NameHasNul));
    // Before a byte of the body is read.
    let mut body = pdf_stream(100);
    assert!(matches!(
        CvPolicy::default().check(&mut body, "cv.pdf\0.exe"),
        Err(DocumentError::NameHasNul)
    ));
    assert_eq!(body.count, 0);
}

#[test]
fn bl13_a_300_character_name_is_cut_on_a_grapheme_boundary() {
    // "ณั" is one grapheme of two characters, six bytes.
    let thai = format!("{}.pdf", "ณั".repeat(148));
    assert_eq!(thai.chars().count(), 300);
    let shown = display_name(&thai).unwrap();
    assert_eq!(shown, format!("{}.pdf", "ณั".repeat(41)));
    assert_eq!(shown.len(), 250);

    let latin = format!("{}.pdf", "a".repeat(296));
    assert_eq!(latin.chars().count(), 300);
    let shown = display_name(&latin).unwrap();
    assert_eq!(shown, format!("{}.pdf", "a".repeat(251)));
    assert_eq!(shown.len(), MAX_NAME_BYTES);

    // A long name is still checked against its extension.
    let long_docx_name = format!("{}.pdf", "a".repeat(400));
    assert!(matches!(
        check(&docx(), &long_docx_name),
        Err(DocumentError::NameMismatch { .. })
    ));
}

/// Every path under `dir` except those under `skip`, relative to `dir`.
fn listing(dir: &Path, skip: &Path) -> BTreeSet<PathBuf> {
    let mut found = BTreeSet::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(next) = pending.pop() {
        for entry in std::fs::read_dir(&next).unwrap() {
            let path = entry.unwrap().path();
            if path.starts_with(skip) {
                continue;
            }
            if path.is_dir() {
                pending.push(path.clone());
            }
            found.insert(path.strip_prefix(dir).unwrap().to_path_buf());
        }
    }
    found
}

fn is_key(name: &str) -> bool {
    let (id, ext) = name.split_once('.').unwrap();
    id.parse::<DocumentId>().is_ok() && ["pdf", "json"].contains(&ext)
}

#[tokio::test]
async fn bl13_names_never_reach_the_file_system() {
    let parent = tempfile::tempdir().unwrap();
    let store = FsDocuments::new(parent.path().join("documents")).unwrap();
    let root = store.root().to_path_buf();
    let parent_dir = root.parent().unwrap().to_path_buf();
    let before = listing(&parent_dir, &root);

    let names = [
        "../../etc/cron.d/cv.pdf",
        "..\\..\\roster.db",
        "/tmp/cv.pdf",
        "C:\\Users\\x\\cv.pdf",
        "cv.pdf\0.exe",
        "CON.pdf",
        ".",
        "..",
        "ประวัติ ณัฐ.pdf",
        &format!("{}.pdf", "ณั".repeat(148)),
    ];
    let mut stored = Vec::new();
    for name in names {
        match CvPolicy::default().check(pdf().as_slice(), name) {
            Ok(checked) => stored.push(store.put(checked).await.unwrap()),
            Err(DocumentError::NameHasNul) => assert!(name.contains('\0')),
            // A PDF called "roster.db" claims another type.
            Err(DocumentError::NameMismatch { extension, .. }) => assert_eq!(extension, "db"),
            Err(e) => panic!("{name:?}: {e}"),
        }
    }
    assert_eq!(stored.len(), 8);

    assert_eq!(listing(&parent_dir, &root), before);
    let in_root: Vec<String> = std::fs::read_dir(&root)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(in_root.len(), 16, "{in_root:?}");
    assert!(in_root.iter().all(|n| is_key(n)), "{in_root:?}");
    for doc in &stored {
        assert_eq!(doc.key(), format!("{}.pdf", doc.id));
        assert!(root.join(doc.key()).is_file());
    }

    let shown: Vec<&str> = stored.iter().map(|d| d.display_name.as_str()).collect();
    assert_eq!(
        &shown[..8],
        [
            "cv.pdf",
            "cv.pdf",
            "cv.pdf",
            "CON.pdf",
            "cv",
            "cv",
            "ประวัติ ณัฐ.pdf",
            format!("{}.pdf", "ณั".repeat(41)).as_str(),
        ]
    );
}

// Stores -------------------------------------------------------------------

async fn round_trip(store: &dyn DocumentStore) {
    let checked = CvPolicy::default()
        .check(docx().as_slice(), "ประวัติ.docx")
        .unwrap();
    let sha = checked.sha256().to_owned();
    let stored = store.put(checked).await.unwrap();
    assert_eq!(stored.kind, DocumentKind::Docx);
    assert_eq!(stored.display_name, "ประวัติ.docx");
    assert_eq!(stored.size, docx().len() as u64);
    assert_eq!(stored.sha256, sha);

    let (meta, bytes) = store.get(&stored.id).await.unwrap().unwrap();
    assert_eq!(meta, stored);
    assert_eq!(bytes, docx());

    let other = DocumentId::generate();
    assert!(store.get(&other).await.unwrap().is_none());
    assert!(!store.delete(&other).await.unwrap());
    assert!(store.delete(&stored.id).await.unwrap());
    assert!(store.get(&stored.id).await.unwrap().is_none());
    assert!(!store.delete(&stored.id).await.unwrap());
}

#[tokio::test]
async fn memory_documents_round_trip() {
    round_trip(&MemoryDocuments::new()).await;
}

#[tokio::test]
async fn fs_documents_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let store = FsDocuments::new(dir.path()).unwrap();
    round_trip(&store).await;
    assert_eq!(std::fs::read_dir(store.root()).unwrap().count(), 0);
}

#[tokio::test]
async fn fs_documents_notice_altered_content() {
    let dir = tempfile::tempdir().unwrap();
    let store = FsDocuments::new(dir.path()).unwrap();
    let checked = CvPolicy::default()
        .check(pdf().as_slice(), "cv.pdf")
        .unwrap();
    let stored = store.put(checked).await.unwrap();
    std::fs::write(store.root().join(stored.key()), b"%PDF-1.7 altered").unwrap();
    assert!(matches!(
        store.get(&stored.id).await,
        Err(roster_core::StoreError::Corrupt { .. })
    ));
}

#[test]
fn document_ids_accept_only_the_generated_alphabet() {
    let id = DocumentId::generate();
    assert_eq!(id.as_str().len(), 32);
    assert_eq!(id.as_str().parse::<DocumentId>().unwrap(), id);
    for bad in [
        "",
        "../../etc/passwd",
        "..",
        "0123456789abcdef0123456789abcde",
        "0123456789ABCDEF0123456789ABCDEF",
        "0123456789abcdef0123456789abcde/",
        "0123456789abcdef0123456789abcdef.pdf",
    ] {
        assert!(
            matches!(bad.parse::<DocumentId>(), Err(DocumentError::InvalidId { length }) if length == bad.len()),
            "{bad:?}"
        );
    }
    assert!(serde_json::from_str::<DocumentId>("\"../../../x\"").is_err());
}

// The facade ---------------------------------------------------------------

#[tokio::test]
async fn upload_cv_checks_who_and_what() {
    let fixture = common::Fixture::new().await;
    let id = fixture
        .nominate(
            "IDN",
            common::profile("Siti Rahma", "siti@example.org", &["A"], "2015-01-01"),
        )
        .await
        .unwrap()
        .expert();
    let other = fixture
        .nominate(
            "THA",
            common::profile("Somchai Dee", "somchai@example.org", &["A"], "2015-01-01"),
        )
        .await
        .unwrap()
        .expert();
    let documents = Arc::new(MemoryDocuments::new());
    let roster = fixture.roster.clone().with_documents(documents.clone());

    let stored = roster
        .upload_cv(
            &Actor::Expert(id),
            id,
            "C:\\cv\\ประวัติ.pdf",
            pdf().as_slice(),
        )
        .await
        .unwrap();
    assert_eq!(stored.display_name, "ประวัติ.pdf");
    let (_, bytes) = documents.get(&stored.id).await.unwrap().unwrap();
    assert_eq!(bytes, pdf());
    // A registration names the document by this id.
    assert_eq!(
        stored.id.to_string().parse::<DocumentId>().unwrap(),
        stored.id
    );

    roster
        .upload_cv(&common::rso(), id, "cv.docx", docx().as_slice())
        .await
        .unwrap();

    for actor in [Actor::Expert(other), Actor::Participant("IDN".into())] {
        assert!(matches!(
            roster
                .upload_cv(&actor, id, "cv.pdf", pdf().as_slice())
                .await,
            Err(RosterError::Forbidden { .. })
        ));
    }
    let err = roster
        .upload_cv(&Actor::Expert(id), id, "cv.docx", &b"MZ\0\0"[..])
        .await
        .unwrap_err();
    assert!(matches!(
        err,
        RosterError::Document(DocumentError::Unsupported {
            detected: Detected::Executable
        })
    ));

    let small = roster.clone().with_cv_policy(CvPolicy {
        max_bytes: 10,
        ..CvPolicy::default()
    });
    assert!(matches!(
        small
            .upload_cv(&common::rso(), id, "cv.pdf", pdf().as_slice())
            .await,
        Err(RosterError::Document(DocumentError::TooLarge { limit: 10 }))
    ));
}

// Properties ---------------------------------------------------------------

proptest! {
    #[test]
    fn display_names_are_safe(raw in any::<String>()) {
        match display_name(&raw) {
            Ok(shown) => {
                prop_assert!(!shown.is_empty());
                prop_assert!(shown.len() <= MAX_NAME_BYTES);
                prop_assert!(!shown.contains(['/', '\\', '\0']));
                prop_assert!(!shown.chars().any(char::is_control));
                prop_assert!(shown != "." && shown != "..");
            }
            Err(e) => {
                prop_assert!(raw.contains('\0'));
                prop_assert!(matches!(e, DocumentError::NameHasNul));
            }
        }
    }

    #[test]
    fn long_names_are_cut_on_grapheme_boundaries(
        stem in "[a-z\u{e01}-\u{e59}\u{300}-\u{36f}]{40,300}",
    ) {
        let full: String = stem.nfc().collect();
        let shown = display_name(&format!("{stem}.pdf")).unwrap();
        let kept = shown.strip_suffix(".pdf").unwrap();
        prop_assert!(shown.len() <= MAX_NAME_BYTES);
        prop_assert!(full.starts_with(kept));
        let boundaries: Vec<usize> = full
            .grapheme_indices(true)
            .map(|(i, _)| i)
            .chain([full.len()])
            .collect();
        let at = boundaries.iter().position(|&b| b == kept.len());
        prop_assert!(at.is_some(), "cut inside a grapheme");
        // The next grapheme would not have fitted.
        if let Some(next) = at.and_then(|i| boundaries.get(i + 1)) {
            prop_assert!(next + ".pdf".len() > MAX_NAME_BYTES);
        }
    }

    #[test]
    fn damaged_archives_are_refused_without_panicking(
        flips in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8),
    ) {
        let mut bytes = docx();
        for (at, value) in flips {
            let i = at.index(bytes.len());
            bytes[i] = value;
        }
        if let Ok(checked) = CvPolicy::default().check(bytes.as_slice(), "cv.docx") {
            prop_assert_eq!(checked.kind(), DocumentKind::Docx);
        }
    }

    #[test]
    fn sniffing_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..2_048)) {
        let _ = CvPolicy::default().sniff(&bytes);
    }
}
