//! DSSE envelopes inside Sigstore bundles: the form in which cosign v3
//! stores an image's signature (`cosign sign`) or attestation (`cosign
//! attest`) as an OCI 1.1 referrer of the image. The referrer manifest's one
//! layer (`application/vnd.dev.sigstore.bundle.v0.3+json`) is a Sigstore
//! bundle whose `dsseEnvelope` holds an in-toto statement (base64) and
//! signatures over its PAE (pre-authentication encoding):
//!
//! ```text
//! DSSEv1 <len(payloadType)> <payloadType> <len(payload)> <payload>
//! ```
//!
//! each an ECDSA P-256 signature over the SHA-256 of those bytes, as
//! `PublicKey::verify` checks. The statement names what was signed
//! (`subject[].digest.sha256`, the image manifest's digest) and what kind
//! of claim it is (`predicateType`: `https://sigstore.dev/cosign/sign/v1`
//! for a plain signature, an SBOM or provenance type for an attestation).
//!
//! Key-based checks only (no certificate, no transparency log): what
//! `cosign verify --key K --insecure-ignore-tlog` checks offline.

use super::PublicKey;
use crate::oci::digest::Digest;
use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use serde::Deserialize;

/// The predicate type of the statement `cosign sign` (v3) signs: "this
/// image is signed", nothing more.
pub const SIGN_PREDICATE: &str = "https://sigstore.dev/cosign/sign/v1";
/// The only payload type whose content airlock reads.
pub const IN_TOTO_PAYLOAD: &str = "application/vnd.in-toto+json";
/// The in-toto statement versions cosign writes (`attest` still writes v0.1).
const STATEMENT_TYPES: [&str; 2] = ["https://in-toto.io/Statement/v1", "https://in-toto.io/Statement/v0.1"];

#[derive(Debug, PartialEq, thiserror::Error)]
pub enum DsseError {
    #[error("not a Sigstore bundle with a DSSE envelope: {0}")]
    NotDsse(String),
    #[error("its DSSE payload is `{0}`, not an in-toto statement")]
    NotInToto(String),
    #[error("no signature of its DSSE envelope verifies with the key")]
    NotVerified,
    #[error("its signed statement is not an in-toto statement: {0}")]
    BadStatement(String),
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Bundle {
    media_type: String,
    dsse_envelope: Option<Envelope>,
}

#[derive(Deserialize, Debug, Clone)]
#[serde(rename_all = "camelCase")]
pub struct Envelope {
    /// Base64 of the payload bytes.
    pub payload: String,
    pub payload_type: String,
    #[serde(default)]
    pub signatures: Vec<EnvelopeSignature>,
}

#[derive(Deserialize, Debug, Clone)]
pub struct EnvelopeSignature {
    /// Base64 of the ASN.1 DER ECDSA signature over the PAE.
    pub sig: String,
}

/// What a verified statement says, as far as airlock follows it.
#[derive(Debug, Clone, PartialEq)]
pub struct Statement {
    pub predicate_type: String,
    /// The `sha256` digests of its subjects (hex), in order.
    pub subjects: Vec<String>,
}

impl Statement {
    /// Whether `digest` is one of the statement's subjects.
    pub fn names(&self, digest: &Digest) -> bool {
        self.subjects.iter().any(|s| s.eq_ignore_ascii_case(digest.hex()))
    }

    /// Whether it is a plain signature (`cosign sign`), not an attestation.
    pub fn is_signature(&self) -> bool {
        self.predicate_type == SIGN_PREDICATE
    }

    /// The subjects as digests, for messages.
    pub fn subjects_text(&self) -> String {
        let all: Vec<String> = self.subjects.iter().map(|s| format!("sha256:{s}")).collect();
        if all.is_empty() {
            "nothing".into()
        } else {
            all.join(", ")
        }
    }
}

/// The pre-authentication encoding DSSE signs.
pub fn pae(payload_type: &str, payload: &[u8]) -> Vec<u8> {
    let mut out = format!("DSSEv1 {} {payload_type} {} ", payload_type.len(), payload.len()).into_bytes();
    out.extend_from_slice(payload);
    out
}

/// The DSSE envelope of a Sigstore bundle (any version that has one).
pub fn envelope(bundle_json: &[u8]) -> Result<Envelope, DsseError> {
    let bundle: Bundle =
        serde_json::from_slice(bundle_json.trim_ascii()).map_err(|e| DsseError::NotDsse(e.to_string()))?;
    if !bundle.media_type.starts_with("application/vnd.dev.sigstore.bundle") {
        return Err(DsseError::NotDsse(format!("media type `{}`", bundle.media_type)));
    }
    bundle.dsse_envelope.ok_or_else(|| DsseError::NotDsse("it has no dsseEnvelope".into()))
}

/// Checks the envelope's signatures with `key` and, when one verifies,
/// reads the statement it signs. Only then is the statement's content
/// trusted (or even parsed).
pub fn verify(envelope: &Envelope, key: &PublicKey) -> Result<Statement, DsseError> {
    if envelope.payload_type != IN_TOTO_PAYLOAD {
        return Err(DsseError::NotInToto(envelope.payload_type.clone()));
    }
    let payload = BASE64
        .decode(envelope.payload.trim())
        .map_err(|e| DsseError::BadStatement(format!("its payload is not base64 ({e})")))?;
    let message = pae(&envelope.payload_type, &payload);
    if !envelope.signatures.iter().any(|s| key.verify(&s.sig, &message)) {
        return Err(DsseError::NotVerified);
    }
    statement(&payload)
}

/// Reads an in-toto statement (v0.1 or v1).
pub fn statement(payload: &[u8]) -> Result<Statement, DsseError> {
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Raw {
        #[serde(rename = "_type")]
        kind: String,
        #[serde(default)]
        subject: Vec<Subject>,
        predicate_type: String,
    }
    #[derive(Deserialize)]
    struct Subject {
        #[serde(default)]
        digest: std::collections::BTreeMap<String, String>,
    }
    let raw: Raw = serde_json::from_slice(payload).map_err(|e| DsseError::BadStatement(e.to_string()))?;
    if !STATEMENT_TYPES.contains(&raw.kind.as_str()) {
        return Err(DsseError::BadStatement(format!("`_type` is `{}`", raw.kind)));
    }
    Ok(Statement {
        predicate_type: raw.predicate_type,
        subjects: raw.subject.into_iter().filter_map(|s| s.digest.get("sha256").cloned()).collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    /// The example of the DSSE specification (protocol.md), byte for byte.
    #[test]
    fn pae_is_the_specified_encoding() {
        assert_eq!(
            pae("http://example.com/HelloWorld", b"hello world"),
            b"DSSEv1 29 http://example.com/HelloWorld 11 hello world"
        );
        assert_eq!(pae("", b""), b"DSSEv1 0  0 ");
        // Lengths are in bytes, not characters.
        assert_eq!(pae("t", "é".as_bytes()), "DSSEv1 1 t 2 é".as_bytes());
    }

    fn keys() -> (super::super::PrivateKey, PublicKey, PublicKey) {
        let dir = tempfile::tempdir().unwrap();
        let (private, public) = super::super::generate_key_pair(b"pw").unwrap();
        std::fs::write(dir.path().join("k.key"), private).unwrap();
        let key = super::super::PrivateKey::load(&dir.path().join("k.key"), b"pw").unwrap();
        let public = PublicKey::from_pem(Path::new("k.pub"), public.as_bytes()).unwrap();
        let (_, other) = super::super::generate_key_pair(b"pw").unwrap();
        let other = PublicKey::from_pem(Path::new("o.pub"), other.as_bytes()).unwrap();
        (key, public, other)
    }

    /// A Sigstore bundle as cosign v3 writes one for `cosign sign`.
    fn bundle(key: &super::super::PrivateKey, payload_type: &str, statement: &str) -> Vec<u8> {
        let sig = key.sign(&pae(payload_type, statement.as_bytes())).unwrap();
        serde_json::to_vec(&serde_json::json!({
            "mediaType": "application/vnd.dev.sigstore.bundle.v0.3+json",
            "verificationMaterial": {"publicKey": {"hint": "x"}},
            "dsseEnvelope": {"payload": BASE64.encode(statement), "payloadType": payload_type, "signatures": [{"sig": sig}]}
        }))
        .unwrap()
    }

    #[test]
    fn signatures_verify_over_the_pae_with_the_right_key_only() {
        let (key, public, other) = keys();
        let image = Digest::of(b"image manifest");
        let statement = format!(
            r#"{{"_type":"https://in-toto.io/Statement/v1", "subject":[{{"digest":{{"sha256":"{}"}}, "annotations":{{}}}}], "predicateType":"{SIGN_PREDICATE}", "predicate":{{}}}}"#,
            image.hex()
        );
        let signed = bundle(&key, IN_TOTO_PAYLOAD, &statement);
        let found = verify(&envelope(&signed).unwrap(), &public).unwrap();
        assert!(found.is_signature() && found.names(&image) && !found.names(&Digest::of(b"another")));
        assert_eq!(found.subjects_text(), format!("{image}"));
        assert_eq!(verify(&envelope(&signed).unwrap(), &other), Err(DsseError::NotVerified));

        // A signature over the bare payload (not its PAE) does not verify.
        let mut env = envelope(&signed).unwrap();
        env.signatures[0].sig = key.sign(statement.as_bytes()).unwrap();
        assert_eq!(verify(&env, &public), Err(DsseError::NotVerified));
        // Nor does a payload changed after signing.
        let mut env = envelope(&signed).unwrap();
        env.payload = BASE64.encode(statement.replace(image.hex(), Digest::of(b"x").hex()));
        assert_eq!(verify(&env, &public), Err(DsseError::NotVerified));
        // Nor a payload type changed after signing (the PAE covers it).
        let mut env = envelope(&bundle(&key, "application/vnd.in-toto+jsonx", &statement)).unwrap();
        env.payload_type = IN_TOTO_PAYLOAD.into();
        assert_eq!(verify(&env, &public), Err(DsseError::NotVerified));
        // Another payload type is not read at all.
        let env = envelope(&bundle(&key, "text/plain", &statement)).unwrap();
        assert_eq!(verify(&env, &public), Err(DsseError::NotInToto("text/plain".into())));
    }

    #[test]
    fn statements_say_what_and_which_digest() {
        let hex = Digest::of(b"img").hex().to_string();
        // What `cosign attest --type spdxjson` signs: a v0.1 statement.
        let attestation = format!(
            r#"{{"_type":"https://in-toto.io/Statement/v0.1","subject":[{{"name":"r/app","digest":{{"sha256":"{hex}"}}}}],"predicateType":"https://spdx.dev/Document","predicate":{{}}}}"#
        );
        let s = statement(attestation.as_bytes()).unwrap();
        assert_eq!(s.predicate_type, "https://spdx.dev/Document");
        assert!(!s.is_signature() && s.names(&Digest::of(b"img")));
        assert!(matches!(statement(br#"{"_type":"other","predicateType":"p"}"#), Err(DsseError::BadStatement(_))));
        assert!(matches!(statement(b"not json"), Err(DsseError::BadStatement(_))));
        let none = statement(br#"{"_type":"https://in-toto.io/Statement/v1","predicateType":"p"}"#).unwrap();
        assert!(none.subjects.is_empty() && none.subjects_text() == "nothing");
    }

    #[test]
    fn only_sigstore_bundles_with_an_envelope_are_read() {
        assert!(matches!(envelope(b"{}"), Err(DsseError::NotDsse(_))));
        assert!(matches!(
            envelope(br#"{"mediaType":"application/json","dsseEnvelope":{"payload":"","payloadType":"x"}}"#),
            Err(DsseError::NotDsse(_))
        ));
        // A message-signature bundle (what `sign-blob` writes) has no envelope.
        let blob = br#"{"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json","messageSignature":{}}"#;
        assert_eq!(envelope(blob).unwrap_err(), DsseError::NotDsse("it has no dsseEnvelope".into()));
    }
}
