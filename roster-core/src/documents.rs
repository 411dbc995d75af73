//! CV documents: checking an upload by its content, the name shown for it,
//! and where it is kept.
//!
//! An upload is read through [`CvPolicy::check`], which stops reading one byte
//! past the size limit, decides the type from the bytes alone (PDF, DOCX or
//! ODT), opens DOCX and ODT archives under entry-count and inflated-size
//! limits, and refuses a file whose name claims another type. The client's
//! file name is kept only as display text ([`display_name`]); the storage key
//! is a random [`DocumentId`] plus the extension of the detected type.
//!
//! Stores implement [`DocumentStore`]: [`MemoryDocuments`] here, and
//! [`FsDocuments`] for a directory on disk.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::io::{self, Cursor, Read};
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::Mutex;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use unicode_normalization::UnicodeNormalization;
use unicode_segmentation::UnicodeSegmentation;
use zip::ZipArchive;

use crate::error::StoreError;

/// The longest display name, in UTF-8 bytes: what common file systems allow
/// for one name.
pub const MAX_NAME_BYTES: usize = 255;

/// The display name given to a file whose name is empty, "." or "..".
pub const FALLBACK_NAME: &str = "cv";

const ODT_MIMETYPE: &[u8] = b"application/vnd.oasis.opendocument.text";

/// A CV format the roster accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DocumentKind {
    /// Portable Document Format.
    Pdf,
    /// Office Open XML word-processing document.
    Docx,
    /// OpenDocument text.
    Odt,
}

impl DocumentKind {
    /// Every kind, in a fixed order.
    pub const ALL: [DocumentKind; 3] = [DocumentKind::Pdf, DocumentKind::Docx, DocumentKind::Odt];

    /// The file extension of this kind, without the dot.
    pub fn extension(self) -> &'static str {
        match self {
            DocumentKind::Pdf => "pdf",
            DocumentKind::Docx => "docx",
            DocumentKind::Odt => "odt",
        }
    }

    /// The media type to serve this kind with.
    pub fn mime_type(self) -> &'static str {
        match self {
            DocumentKind::Pdf => "application/pdf",
            DocumentKind::Docx => {
                "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
            }
            DocumentKind::Odt => "application/vnd.oasis.opendocument.text",
        }
    }
}

impl fmt::Display for DocumentKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            DocumentKind::Pdf => "PDF",
            DocumentKind::Docx => "DOCX",
            DocumentKind::Odt => "ODT",
        })
    }
}

/// What an unsupported upload was found to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Detected {
    /// A Windows executable or library (starts with "MZ").
    Executable,
    /// A legacy OLE compound file (starts with D0 CF 11 E0), such as a Word
    /// 97-2003 `.doc`.
    LegacyOffice,
    /// Another recognised type, by media type.
    Other(&'static str),
    /// Nothing recognised.
    Unknown,
}

impl fmt::Display for Detected {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Detected::Executable => f.write_str("a Windows executable (MZ header)"),
            Detected::LegacyOffice => f.write_str(
                "a legacy OLE Office file (D0 CF 11 E0 header), such as a Word 97-2003 .doc",
            ),
            Detected::Other(mime) => write!(f, "a file of type {mime}"),
            Detected::Unknown => f.write_str("a file of unknown type"),
        }
    }
}

/// Why a CV upload or a document id was refused.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DocumentError {
    /// The upload has no bytes.
    #[error("the CV file is empty (0 bytes); upload a PDF, DOCX or ODT file")]
    Empty,
    /// The upload is over the size limit; reading stopped one byte past it.
    #[error("the CV file is larger than {limit} bytes; upload a smaller file")]
    TooLarge {
        /// The limit, in bytes.
        limit: u64,
    },
    /// Reading the upload failed.
    #[error("the CV upload could not be read")]
    Read(#[source] io::Error),
    /// The content is not a PDF, DOCX or ODT document.
    #[error("the CV file is {detected}, not a PDF, DOCX or ODT document")]
    Unsupported {
        /// What the content was found to be.
        detected: Detected,
    },
    /// The content is a kind this policy does not accept.
    #[error("{kind} CVs are not accepted; upload one of: {allowed}")]
    KindNotAllowed {
        /// The detected kind.
        kind: DocumentKind,
        /// The accepted kinds, listed.
        allowed: String,
    },
    /// The archive has more entries than the limit (a ZIP bomb, or not a
    /// CV).
    #[error("the CV archive has {entries} entries, more than the limit of {limit}")]
    TooManyEntries {
        /// Entries in the archive.
        entries: usize,
        /// The limit.
        limit: usize,
    },
    /// The archive inflates past the limit (a ZIP bomb, or not a CV).
    #[error("the CV archive inflates to more than {limit} bytes, the limit for this file")]
    InflatesTooLarge {
        /// The limit that applied, in bytes: the smaller of the inflated-size
        /// limit and the compression-ratio limit times the archive's size.
        limit: u64,
    },
    /// The archive could not be read (damaged, encrypted, or an unsupported
    /// compression method).
    #[error("the CV archive could not be read{}", .entry.map(|i| format!(" (entry {i})")).unwrap_or_default())]
    CorruptArchive {
        /// The entry that failed, when one did.
        entry: Option<usize>,
        /// The archive reader's error.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// A ZIP archive, but neither a DOCX nor an ODT text document.
    #[error("the CV archive is not a word-processing document: it has no {missing}")]
    NotWordProcessing {
        /// The part that was looked for.
        missing: &'static str,
    },
    /// The content is one kind and the file name says another.
    #[error(
        "the CV content is {detected} but the file name ends in .{extension}; \
         name it .{} or upload the intended file",
        .detected.extension()
    )]
    NameMismatch {
        /// The kind found in the content.
        detected: DocumentKind,
        /// The extension of the client's file name, lower-cased.
        extension: String,
    },
    /// The file name contains a NUL character.
    #[error("the CV file name contains a NUL character; rename the file")]
    NameHasNul,
    /// Text that is not a document id.
    #[error("a document id of {length} bytes is not valid: expected 32 lower-case hex digits")]
    InvalidId {
        /// Length of the refused text, in bytes.
        length: usize,
    },
}

/// Limits a CV upload is checked against.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CvPolicy {
    /// Largest upload, in bytes (default 10,000,000).
    pub max_bytes: u64,
    /// Kinds accepted (default all three).
    pub allowed: BTreeSet<DocumentKind>,
    /// Most entries a DOCX or ODT archive may hold (default 1,000).
    pub max_zip_entries: usize,
    /// Most bytes the entries of an archive may inflate to, together
    /// (default 50,000,000).
    pub max_inflated_bytes: u64,
    /// Most an archive may inflate to, as a multiple of its own size
    /// (default 100); `None` for no ratio limit.
    pub max_compression_ratio: Option<u64>,
}

impl Default for CvPolicy {
    fn default() -> CvPolicy {
        CvPolicy {
            max_bytes: 10_000_000,
            allowed: DocumentKind::ALL.into_iter().collect(),
            max_zip_entries: 1_000,
            max_inflated_bytes: 50_000_000,
            max_compression_ratio: Some(100),
        }
    }
}

impl CvPolicy {
    /// Reads an upload and checks it: the name first (a NUL refuses it
    /// before any byte is read), then at most `max_bytes + 1` bytes of the
    /// body, the type from the content, and last that the name's extension,
    /// if it has one, agrees with the detected type.
    pub fn check(
        &self,
        body: impl Read,
        client_name: &str,
    ) -> Result<CheckedDocument, DocumentError> {
        let name = ClientName::parse(client_name)?;
        let bytes = read_limited(body, self.max_bytes)?;
        let kind = self.sniff(&bytes)?;
        if let Some(extension) = name.extension
            && extension != kind.extension()
        {
            return Err(DocumentError::NameMismatch {
                detected: kind,
                extension,
            });
        }
        let sha256 = hex(&Sha256::digest(&bytes));
        Ok(CheckedDocument {
            kind,
            display_name: name.display,
            bytes,
            sha256,
        })
    }

    /// The kind of a document held in memory, from its bytes alone.
    pub fn sniff(&self, bytes: &[u8]) -> Result<DocumentKind, DocumentError> {
        if bytes.is_empty() {
            return Err(DocumentError::Empty);
        }
        if len_u64(bytes.len()) > self.max_bytes {
            return Err(DocumentError::TooLarge {
                limit: self.max_bytes,
            });
        }
        let kind = self.detect(bytes)?;
        if !self.allowed.contains(&kind) {
            let allowed: Vec<String> = self.allowed.iter().map(ToString::to_string).collect();
            return Err(DocumentError::KindNotAllowed {
                kind,
                allowed: allowed.join(", "),
            });
        }
        Ok(kind)
    }

    fn detect(&self, bytes: &[u8]) -> Result<DocumentKind, DocumentError> {
        // Signatures at offset 0 are tested before the PDF header, which may
        // sit anywhere in the first 1,024 bytes: a file that starts as an
        // executable or an archive is that, whatever "%PDF" it also holds.
        if infer::archive::is_zip(bytes) {
            return self.inspect_archive(bytes);
        }
        if infer::app::is_exe(bytes) {
            return Err(DocumentError::Unsupported {
                detected: Detected::Executable,
            });
        }
        // Without its `std` feature `infer` does not parse OLE compound
        // files, so an untrusted .doc is never parsed and any OLE header
        // counts as a legacy Office file.
        if infer::doc::is_doc(bytes) {
            return Err(DocumentError::Unsupported {
                detected: Detected::LegacyOffice,
            });
        }
        // `infer` looks for "%PDF" in the first 1,024 bytes, as PDF readers
        // do, so a header after a stray byte or space is still found.
        if infer::archive::is_pdf(bytes) {
            return Ok(DocumentKind::Pdf);
        }
        let detected =
            infer::get(bytes).map_or(Detected::Unknown, |t| Detected::Other(t.mime_type()));
        Err(DocumentError::Unsupported { detected })
    }

    /// Inflated-size budget of an archive of `archive_len` bytes.
    fn inflate_budget(&self, archive_len: usize) -> u64 {
        let by_ratio = self
            .max_compression_ratio
            .map_or(u64::MAX, |ratio| ratio.saturating_mul(len_u64(archive_len)));
        self.max_inflated_bytes.min(by_ratio)
    }

    /// Checks the archive's limits, inflating every entry into nothing,
    /// before any entry's content is interpreted; then looks for the parts
    /// of a DOCX or an ODT.
    fn inspect_archive(&self, bytes: &[u8]) -> Result<DocumentKind, DocumentError> {
        // The central directory is parsed here; it lies inside the upload,
        // which is already within `max_bytes`, so its cost is bounded.
        let mut archive = ZipArchive::new(Cursor::new(bytes)).map_err(|e| corrupt(None, e))?;
        if archive.len() > self.max_zip_entries {
            return Err(DocumentError::TooManyEntries {
                entries: archive.len(),
                limit: self.max_zip_entries,
            });
        }
        let budget = self.inflate_budget(bytes.len());
        // The declared sizes refuse an honest bomb without inflating it; the
        // loop below does not trust them.
        if archive
            .decompressed_size()
            .is_some_and(|declared| declared > u128::from(budget))
        {
            return Err(DocumentError::InflatesTooLarge { limit: budget });
        }
        let mut inflated = 0u64;
        for index in 0..archive.len() {
            let entry = archive
                .by_index(index)
                .map_err(|e| corrupt(Some(index), e))?;
            let left = budget - inflated;
            let read = io::copy(&mut entry.take(left.saturating_add(1)), &mut io::sink())
                .map_err(|e| corrupt(Some(index), e))?;
            inflated += read;
            if inflated > budget {
                return Err(DocumentError::InflatesTooLarge { limit: budget });
            }
        }
        self.word_processing_kind(&mut archive)
    }

    fn word_processing_kind(
        &self,
        archive: &mut ZipArchive<Cursor<&[u8]>>,
    ) -> Result<DocumentKind, DocumentError> {
        if archive.index_for_name("mimetype").is_some() {
            let entry = archive.by_name("mimetype").map_err(|e| corrupt(None, e))?;
            let mut mimetype = Vec::new();
            // One byte more than the expected value is enough to tell.
            entry
                .take(len_u64(ODT_MIMETYPE.len()) + 1)
                .read_to_end(&mut mimetype)
                .map_err(|e| corrupt(None, e))?;
            return if mimetype == ODT_MIMETYPE {
                Ok(DocumentKind::Odt)
            } else {
                Err(DocumentError::NotWordProcessing {
                    missing: "OpenDocument text mimetype (application/vnd.oasis.opendocument.text)",
                })
            };
        }
        let has = |name: &str| archive.index_for_name(name).is_some();
        match (has("[Content_Types].xml"), has("word/document.xml")) {
            (true, true) => Ok(DocumentKind::Docx),
            (true, false) => Err(DocumentError::NotWordProcessing {
                missing: "word/document.xml",
            }),
            (false, _) => Err(DocumentError::NotWordProcessing {
                missing: "[Content_Types].xml and word/document.xml (DOCX) or mimetype (ODT)",
            }),
        }
    }
}

/// An upload that passed [`CvPolicy::check`]: the only way to hand bytes to
/// a [`DocumentStore`].
#[derive(Clone, PartialEq, Eq)]
pub struct CheckedDocument {
    kind: DocumentKind,
    display_name: String,
    bytes: Vec<u8>,
    sha256: String,
}

impl CheckedDocument {
    /// The kind found in the content.
    pub fn kind(&self) -> DocumentKind {
        self.kind
    }

    /// The client's file name, cleaned for display.
    pub fn display_name(&self) -> &str {
        &self.display_name
    }

    /// The content.
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// SHA-256 of the content, in lower-case hex.
    pub fn sha256(&self) -> &str {
        &self.sha256
    }
}

impl fmt::Debug for CheckedDocument {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The name and the content are personal data; the digest identifies
        // the upload well enough.
        f.debug_struct("CheckedDocument")
            .field("kind", &self.kind)
            .field("size", &self.bytes.len())
            .field("sha256", &self.sha256)
            .finish_non_exhaustive()
    }
}

/// The cleaned display name of a client's file name.
///
/// A name containing NUL is refused. Otherwise directory parts (after `/` or
/// `\`) and a drive prefix such as `C:` are dropped, control and
/// bidirectional-override characters removed, the rest put in NFC and
/// trimmed, and a name over [`MAX_NAME_BYTES`] cut on a grapheme boundary,
/// keeping its extension. An empty name, or one of dots only ("." and ".."),
/// becomes [`FALLBACK_NAME`]. The result is for display only: it is never
/// part of a storage path.
pub fn display_name(client_name: &str) -> Result<String, DocumentError> {
    ClientName::parse(client_name).map(|name| name.display)
}

/// A document's id: 128 random bits as 32 lower-case hex digits. Parsing
/// accepts nothing else, so an id can never name a path.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct DocumentId(String);

impl DocumentId {
    /// A new random id.
    pub fn generate() -> DocumentId {
        DocumentId(uuid::Uuid::new_v4().simple().to_string())
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for DocumentId {
    type Err = DocumentError;

    fn from_str(s: &str) -> Result<DocumentId, DocumentError> {
        let valid = s.len() == 32 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
        if valid {
            Ok(DocumentId(s.to_owned()))
        } else {
            Err(DocumentError::InvalidId { length: s.len() })
        }
    }
}

impl TryFrom<String> for DocumentId {
    type Error = DocumentError;

    fn try_from(s: String) -> Result<DocumentId, DocumentError> {
        s.parse()
    }
}

impl From<DocumentId> for String {
    fn from(id: DocumentId) -> String {
        id.0
    }
}

impl fmt::Display for DocumentId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A stored document's description.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredDocument {
    /// Server-generated id; a registration names it.
    pub id: DocumentId,
    /// The kind found in the content.
    pub kind: DocumentKind,
    /// The client's file name, cleaned, for display only.
    pub display_name: String,
    /// Size in bytes.
    pub size: u64,
    /// SHA-256 of the content, in lower-case hex.
    pub sha256: String,
}

impl StoredDocument {
    /// The storage key: the id and the detected kind's extension, such as
    /// `3f2a….pdf`.
    pub fn key(&self) -> String {
        format!("{}.{}", self.id, self.kind.extension())
    }
}

/// Where CVs are kept. Used as `Arc<dyn DocumentStore>`.
#[async_trait]
pub trait DocumentStore: Send + Sync {
    /// Stores a checked document under a new id.
    async fn put(&self, document: CheckedDocument) -> Result<StoredDocument, StoreError>;

    /// The document with this id and its content.
    async fn get(&self, id: &DocumentId) -> Result<Option<(StoredDocument, Vec<u8>)>, StoreError>;

    /// Deletes a document. Returns whether it existed.
    async fn delete(&self, id: &DocumentId) -> Result<bool, StoreError>;
}

/// Documents kept in memory.
#[derive(Debug, Default)]
pub struct MemoryDocuments {
    inner: Mutex<BTreeMap<DocumentId, (StoredDocument, Vec<u8>)>>,
}

impl MemoryDocuments {
    /// An empty store.
    pub fn new() -> MemoryDocuments {
        MemoryDocuments::default()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<DocumentId, (StoredDocument, Vec<u8>)>> {
        // Every method changes the map in one call, so a panic elsewhere
        // cannot leave it half-changed.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[async_trait]
impl DocumentStore for MemoryDocuments {
    async fn put(&self, document: CheckedDocument) -> Result<StoredDocument, StoreError> {
        let stored = describe(DocumentId::generate(), &document);
        self.lock()
            .insert(stored.id.clone(), (stored.clone(), document.bytes));
        Ok(stored)
    }

    async fn get(&self, id: &DocumentId) -> Result<Option<(StoredDocument, Vec<u8>)>, StoreError> {
        Ok(self.lock().get(id).cloned())
    }

    async fn delete(&self, id: &DocumentId) -> Result<bool, StoreError> {
        Ok(self.lock().remove(id).is_some())
    }
}

/// Documents kept as files in one directory: `<id>.<ext>` for the content
/// and `<id>.json` for its description. Every path is the root joined with
/// a name made of a validated id and a fixed extension, so nothing is ever
/// written outside the root. Writes go to a temporary file in the root,
/// then are renamed into place; the description is written last, so a
/// document is visible only once complete.
#[derive(Debug, Clone)]
pub struct FsDocuments {
    root: PathBuf,
}

impl FsDocuments {
    /// A store in `root`, created if missing.
    pub fn new(root: impl AsRef<Path>) -> Result<FsDocuments, StoreError> {
        std::fs::create_dir_all(root.as_ref()).map_err(backend)?;
        let root = std::fs::canonicalize(root.as_ref()).map_err(backend)?;
        Ok(FsDocuments { root })
    }

    /// The directory the documents are kept in.
    pub fn root(&self) -> &Path {
        &self.root
    }

    fn meta_path(&self, id: &DocumentId) -> PathBuf {
        self.root.join(format!("{id}.json"))
    }
}

#[async_trait]
impl DocumentStore for FsDocuments {
    async fn put(&self, document: CheckedDocument) -> Result<StoredDocument, StoreError> {
        let stored = describe(DocumentId::generate(), &document);
        let meta = serde_json::to_vec(&stored).map_err(backend)?;
        let root = self.root.clone();
        let content_path = self.root.join(stored.key());
        let meta_path = self.meta_path(&stored.id);
        blocking(move || {
            write_atomically(&root, &content_path, &document.bytes)?;
            write_atomically(&root, &meta_path, &meta)
        })
        .await?;
        tracing::debug!(document = %stored.id, "document written");
        Ok(stored)
    }

    async fn get(&self, id: &DocumentId) -> Result<Option<(StoredDocument, Vec<u8>)>, StoreError> {
        let root = self.root.clone();
        let meta_path = self.meta_path(id);
        let id = id.clone();
        blocking(move || {
            let meta = match std::fs::read(&meta_path) {
                Ok(meta) => meta,
                Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
                Err(e) => return Err(backend(e)),
            };
            let corrupt = |message: String| StoreError::Corrupt {
                entity: "document",
                id: id.to_string(),
                message,
            };
            let stored: StoredDocument =
                serde_json::from_slice(&meta).map_err(|e| corrupt(e.to_string()))?;
            if stored.id != id {
                return Err(corrupt(format!("its description names {}", stored.id)));
            }
            let bytes = std::fs::read(root.join(stored.key())).map_err(|e| match e.kind() {
                io::ErrorKind::NotFound => corrupt("its content file is missing".into()),
                _ => backend(e),
            })?;
            if hex(&Sha256::digest(&bytes)) != stored.sha256 {
                return Err(corrupt("its content does not match its SHA-256".into()));
            }
            Ok(Some((stored, bytes)))
        })
        .await
    }

    async fn delete(&self, id: &DocumentId) -> Result<bool, StoreError> {
        let root = self.root.clone();
        let meta_path = self.meta_path(id);
        let id = id.clone();
        blocking(move || {
            // The description goes first, so a half-done delete leaves an
            // unreferenced file rather than a description without content.
            match std::fs::remove_file(&meta_path) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(false),
                Err(e) => return Err(backend(e)),
            }
            for kind in DocumentKind::ALL {
                match std::fs::remove_file(root.join(format!("{id}.{}", kind.extension()))) {
                    Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(backend(e)),
                    _ => {}
                }
            }
            Ok(true)
        })
        .await
    }
}

/// A client's file name: the display text and the extension it claims.
struct ClientName {
    display: String,
    /// The lower-cased extension of the full cleaned name, before any cut.
    extension: Option<String>,
}

impl ClientName {
    fn parse(raw: &str) -> Result<ClientName, DocumentError> {
        if raw.contains('\0') {
            return Err(DocumentError::NameHasNul);
        }
        // `rsplit` always yields at least one piece.
        let base = raw.rsplit(['/', '\\']).next().unwrap_or_default();
        let base = strip_drive(base);
        let cleaned: String = base
            .chars()
            .filter(|&c| !c.is_control() && !is_bidi_control(c))
            .nfc()
            .collect();
        let cleaned = cleaned.trim();
        let extension = extension_of(cleaned);
        let cut = cut_to(cleaned, extension.as_deref(), MAX_NAME_BYTES);
        let cut = cut.trim();
        let display = if cut.chars().all(|c| c == '.') {
            FALLBACK_NAME.to_owned()
        } else {
            cut.to_owned()
        };
        Ok(ClientName { display, extension })
    }
}

/// Drops a drive prefix such as `C:` left after the last separator
/// (`C:cv.pdf`).
fn strip_drive(name: &str) -> &str {
    let mut chars = name.chars();
    match (chars.next(), chars.next()) {
        (Some(letter), Some(':')) if letter.is_ascii_alphabetic() => chars.as_str(),
        _ => name,
    }
}

/// Characters that reorder text on screen, so that "cv\u{202E}fdp.exe"
/// would display as "cvexe.pdf".
fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{061C}' | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// The extension a name claims: one to five ASCII letters or digits after
/// the last dot. Anything else ("J. Smith CV") claims none.
fn extension_of(name: &str) -> Option<String> {
    let (_, extension) = name.rsplit_once('.')?;
    let plausible =
        (1..=5).contains(&extension.len()) && extension.bytes().all(|b| b.is_ascii_alphanumeric());
    plausible.then(|| extension.to_ascii_lowercase())
}

/// Cuts `name` to at most `max` bytes on a grapheme boundary, keeping the
/// extension at the end.
fn cut_to(name: &str, extension: Option<&str>, max: usize) -> String {
    if name.len() <= max {
        return name.to_owned();
    }
    // The extension is at most five bytes plus the dot, far below `max`.
    let suffix_len = extension.map_or(0, |e| e.len() + 1);
    let (stem, suffix) = name.split_at(name.len() - suffix_len);
    let budget = max - suffix_len;
    let mut out = String::with_capacity(max);
    for grapheme in stem.graphemes(true) {
        if out.len() + grapheme.len() > budget {
            break;
        }
        out.push_str(grapheme);
    }
    out.push_str(suffix);
    out
}

/// Reads at most `limit + 1` bytes: enough to know the body is too large
/// without holding more of it.
fn read_limited(body: impl Read, limit: u64) -> Result<Vec<u8>, DocumentError> {
    let cap = usize::try_from(limit.min(64 * 1024)).unwrap_or(0);
    let mut bytes = Vec::with_capacity(cap);
    body.take(limit.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(DocumentError::Read)?;
    if len_u64(bytes.len()) > limit {
        return Err(DocumentError::TooLarge { limit });
    }
    Ok(bytes)
}

fn describe(id: DocumentId, document: &CheckedDocument) -> StoredDocument {
    StoredDocument {
        id,
        kind: document.kind,
        display_name: document.display_name.clone(),
        size: len_u64(document.bytes.len()),
        sha256: document.sha256.clone(),
    }
}

fn corrupt(
    entry: Option<usize>,
    source: impl std::error::Error + Send + Sync + 'static,
) -> DocumentError {
    DocumentError::CorruptArchive {
        entry,
        source: Box::new(source),
    }
}

fn backend(source: impl std::error::Error + Send + Sync + 'static) -> StoreError {
    StoreError::Backend {
        transient: false,
        source: Box::new(source),
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn len_u64(len: usize) -> u64 {
    // usize is at most 64 bits on every supported target.
    u64::try_from(len).unwrap_or(u64::MAX)
}

/// Runs blocking file work on tokio's blocking pool.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, StoreError> + Send + 'static,
) -> Result<T, StoreError> {
    tokio::task::spawn_blocking(work).await.map_err(backend)?
}

/// Writes `bytes` to a new temporary file in `root`, flushes it, and renames
/// it to `target`, so readers never see a partial file.
fn write_atomically(root: &Path, target: &Path, bytes: &[u8]) -> Result<(), StoreError> {
    use std::io::Write as _;

    let temp = root.join(format!(".{}.tmp", DocumentId::generate()));
    let written = (|| {
        // `create_new` refuses to follow or reuse anything already there.
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&temp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        std::fs::rename(&temp, target)
    })();
    if let Err(e) = written {
        // The temporary file is ours and useless now; the original error is
        // the one worth reporting.
        let _ = std::fs::remove_file(&temp);
        return Err(backend(e));
    }
    Ok(())
}
