//! Sprig's certificate and key generators (genCA, genSelfSignedCert,
//! genSignedCert, their `...WithKey` forms that take a PEM key, and
//! genPrivateKey), on rcgen with aws-lc-rs. Certificates are `{Cert, Key}`
//! in PEM, as in Sprig; generated keys are RSA 2048 for certificates.
//! Keys are written as Sprig writes them: PKCS#1 (`RSA PRIVATE KEY`) for
//! RSA, SEC1 with the curve named (`EC PRIVATE KEY`) for ECDSA, PKCS#8 v1
//! (`PRIVATE KEY`) for Ed25519; a `...WithKey` key comes back in that form
//! too, whichever of them it was given in.

use super::super::value::{Map, Value};
use super::{arg, text, to_i64, FuncError, FuncResult};
use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose, RsaKeySize, SanType,
};

pub fn call(name: &str, args: &[Value]) -> Option<FuncResult> {
    let cn = text(&arg(args, 0));
    let leaf_with =
        |ca: Option<&Value>, key: Key| leaf(&cn, &arg(args, 1), &arg(args, 2), to_i64(&arg(args, 3)), ca, key);
    Some(match name {
        "genCA" => rsa_key().and_then(|key| ca(&cn, to_i64(&arg(args, 1)), key)),
        "genCAWithKey" => given_key(&arg(args, 2)).and_then(|key| ca(&cn, to_i64(&arg(args, 1)), key)),
        "genSelfSignedCert" => rsa_key().and_then(|key| leaf_with(None, key)),
        "genSelfSignedCertWithKey" => given_key(&arg(args, 4)).and_then(|key| leaf_with(None, key)),
        "genSignedCert" => rsa_key().and_then(|key| leaf_with(Some(&arg(args, 4)), key)),
        "genSignedCertWithKey" => given_key(&arg(args, 5)).and_then(|key| leaf_with(Some(&arg(args, 4)), key)),
        "genPrivateKey" => private_key(&text(&arg(args, 0))),
        _ => return None,
    })
}

/// A key pair and the PEM it is given back as.
struct Key {
    pair: KeyPair,
    pem: String,
}

fn fail(e: impl std::fmt::Display) -> FuncError {
    FuncError::Call(e.to_string())
}

/// Certificates' own keys: RSA 2048, as in Sprig.
fn rsa_key() -> Result<Key, FuncError> {
    let pair = KeyPair::generate_rsa_for(&rcgen::PKCS_RSA_SHA256, RsaKeySize::_2048).map_err(fail)?;
    Ok(Key { pem: sprig_pem(&pair)?, pair })
}

/// A PEM private key from the chart: PKCS#8, PKCS#1 (RSA) or SEC1 (EC).
fn given_key(pem: &Value) -> Result<Key, FuncError> {
    let pair = KeyPair::from_pem(&text(pem)).map_err(|e| FuncError::Call(format!("parsing private key: {e}")))?;
    Ok(Key { pem: sprig_pem(&pair)?, pair })
}

fn private_key(kind: &str) -> FuncResult {
    let pair = match kind {
        "" | "rsa" => KeyPair::generate_rsa_for(&rcgen::PKCS_RSA_SHA256, RsaKeySize::_4096),
        "ecdsa" => KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256),
        "ed25519" => KeyPair::generate_for(&rcgen::PKCS_ED25519),
        "dsa" => {
            return Err(FuncError::Call(
                "genPrivateKey \"dsa\" is not supported (DSA is obsolete); use rsa, ecdsa or ed25519".into(),
            ))
        }
        // Sprig's answer, as text rather than an error.
        other => return Ok(Value::from(format!("Unknown type {other}"))),
    };
    Ok(Value::from(sprig_pem(&pair.map_err(fail)?)?))
}

/// The PEM Sprig writes for a key (Go's MarshalPKCS1PrivateKey,
/// MarshalECPrivateKey or MarshalPKCS8PrivateKey), from the DER that rcgen
/// holds: PKCS#8 for a key it made, the form it was read in otherwise.
fn sprig_pem(pair: &KeyPair) -> Result<String, FuncError> {
    use aws_lc_rs::encoding::AsDer;
    use aws_lc_rs::signature::{self, EcdsaKeyPair, Ed25519KeyPair};
    let held = pair.serialize_der();
    let alg = pair.algorithm();
    let ecdsa = if alg == &rcgen::PKCS_ECDSA_P256_SHA256 {
        Some(&signature::ECDSA_P256_SHA256_ASN1_SIGNING)
    } else if alg == &rcgen::PKCS_ECDSA_P384_SHA384 {
        Some(&signature::ECDSA_P384_SHA384_ASN1_SIGNING)
    } else {
        None
    };
    let (label, der) = if let Some(signing) = ecdsa {
        // Takes PKCS#8 or SEC1.
        let key = EcdsaKeyPair::from_private_key_der(signing, &held).map_err(fail)?;
        ("EC PRIVATE KEY", key.private_key().as_der().map_err(fail)?.as_ref().to_vec())
    } else if alg == &rcgen::PKCS_ED25519 {
        let key = Ed25519KeyPair::from_pkcs8_maybe_unchecked(&held).map_err(fail)?;
        ("PRIVATE KEY", key.to_pkcs8v1().map_err(fail)?.as_ref().to_vec())
    } else if [&rcgen::PKCS_RSA_SHA256, &rcgen::PKCS_RSA_SHA384, &rcgen::PKCS_RSA_SHA512].contains(&alg) {
        // PKCS#8 wraps the PKCS#1 structure as its private key octets; a
        // key that is not PKCS#8 was read as PKCS#1 already.
        let pkcs1 = match pkcs8::PrivateKeyInfoRef::try_from(held.as_slice()) {
            Ok(info) => info.private_key.as_bytes().to_vec(),
            Err(_) => held,
        };
        ("RSA PRIVATE KEY", pkcs1)
    } else {
        ("PRIVATE KEY", held)
    };
    // As Go's encoding/pem writes it: lines of 64, LF endings.
    let config = pem::EncodeConfig::new().set_line_ending(pem::LineEnding::LF);
    Ok(pem::encode_config(&pem::Pem::new(label, der), config))
}

fn params(cn: &str, days: i64) -> Result<CertificateParams, FuncError> {
    let mut p = CertificateParams::new(Vec::<String>::new()).map_err(fail)?;
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, cn);
    p.distinguished_name = dn;
    let now = time::OffsetDateTime::now_utc();
    p.not_before = now;
    p.not_after = now + time::Duration::days(days);
    p.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth, ExtendedKeyUsagePurpose::ClientAuth];
    Ok(p)
}

fn certificate(cert: String, key: String) -> Value {
    let mut m = Map::new();
    m.insert("Cert".into(), Value::from(cert));
    m.insert("Key".into(), Value::from(key));
    Value::map(m)
}

fn ca(cn: &str, days: i64, key: Key) -> FuncResult {
    let mut p = params(cn, days)?;
    p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    p.key_usages =
        vec![KeyUsagePurpose::KeyEncipherment, KeyUsagePurpose::DigitalSignature, KeyUsagePurpose::KeyCertSign];
    let cert = p.self_signed(&key.pair).map_err(fail)?;
    Ok(certificate(cert.pem(), key.pem))
}

fn leaf(cn: &str, ips: &Value, names: &Value, days: i64, ca: Option<&Value>, key: Key) -> FuncResult {
    let mut p = params(cn, days)?;
    p.key_usages = vec![KeyUsagePurpose::KeyEncipherment, KeyUsagePurpose::DigitalSignature];
    let list = |v: &Value| match v {
        Value::List(l) => l.iter().map(text).collect::<Vec<_>>(),
        Value::Nil => Vec::new(),
        other => vec![text(other)],
    };
    for ip in list(ips) {
        let addr = ip.parse().map_err(|_| FuncError::Call(format!("error parsing ip: {ip}")))?;
        p.subject_alt_names.push(SanType::IpAddress(addr));
    }
    for name in list(names) {
        p.subject_alt_names.push(SanType::DnsName(name.try_into().map_err(fail)?));
    }
    let cert = match ca {
        None => p.self_signed(&key.pair).map_err(fail)?,
        Some(Value::Map(ca)) => {
            let ca = ca.borrow();
            let field = |k: &str| ca.get(k).map(text).unwrap_or_default();
            let ca_key = KeyPair::from_pem(&field("Key")).map_err(|e| FuncError::Call(format!("bad CA key: {e}")))?;
            let issuer = Issuer::from_ca_cert_pem(&field("Cert"), ca_key)
                .map_err(|e| FuncError::Call(format!("bad CA certificate: {e}")))?;
            p.signed_by(&key.pair, &issuer).map_err(fail)?
        }
        Some(_) => return Err(FuncError::Call("genSignedCert needs a certificate from genCA".into())),
    };
    Ok(certificate(cert.pem(), key.pem))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each generated key has Sprig's PEM label, reads back through the
    /// `...WithKey` path, and comes back in the same bytes (as Go re-encodes
    /// the same key the same way).
    #[test]
    fn keys_are_written_as_sprig_writes_them_and_read_back() {
        for (kind, label) in [("ecdsa", "EC PRIVATE KEY"), ("ed25519", "PRIVATE KEY"), ("rsa", "RSA PRIVATE KEY")] {
            let pem = text(&private_key(kind).unwrap());
            assert!(pem.starts_with(&format!("-----BEGIN {label}-----\n")), "{kind}: {pem}");
            let key = given_key(&Value::from(pem.clone())).unwrap_or_else(|e| panic!("{kind}: {e:?}"));
            assert_eq!(key.pem, pem, "{kind}");
        }
        let ca = ca("ca", 1, rsa_key().unwrap()).unwrap();
        let Value::Map(ca) = ca else { panic!() };
        assert!(text(ca.borrow().get("Key").unwrap()).starts_with("-----BEGIN RSA PRIVATE KEY-----\n"));
        assert_eq!(text(&private_key("x").unwrap()), "Unknown type x");
    }
}
