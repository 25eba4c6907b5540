//! Sprig's certificate and key generators (genCA, genSelfSignedCert,
//! genSignedCert, their `...WithKey` forms that take a PEM key, and
//! genPrivateKey), on rcgen with aws-lc-rs. Certificates are `{Cert, Key}`
//! in PEM, as in Sprig; generated keys are RSA 2048 for certificates.
//! Keys are written as PKCS#8 (`PRIVATE KEY`), where Sprig writes PKCS#1
//! (`RSA PRIVATE KEY`) or SEC1 (`EC PRIVATE KEY`); all are what TLS secrets
//! hold, and a `...WithKey` key is returned as it was given.

use super::super::value::{Map, Value};
use super::{arg, text, to_i64, FuncError, FuncResult};
use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose, SanType,
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

fn rsa_key() -> Result<Key, FuncError> {
    let pair = KeyPair::generate_for(&rcgen::PKCS_RSA_SHA256).map_err(fail)?;
    Ok(Key { pem: pair.serialize_pem(), pair })
}

/// A PEM private key from the chart: PKCS#8, PKCS#1 (RSA) or SEC1 (EC).
fn given_key(pem: &Value) -> Result<Key, FuncError> {
    let pem = text(pem);
    let pair = KeyPair::from_pem(&pem).map_err(|e| FuncError::Call(format!("parsing private key: {e}")))?;
    Ok(Key { pair, pem })
}

fn private_key(kind: &str) -> FuncResult {
    let alg = match kind {
        "" | "rsa" => &rcgen::PKCS_RSA_SHA256,
        "ecdsa" => &rcgen::PKCS_ECDSA_P256_SHA256,
        "ed25519" => &rcgen::PKCS_ED25519,
        other => return Err(FuncError::Call(format!("unknown key type {other:?} (rsa, ecdsa or ed25519)"))),
    };
    Ok(Value::from(KeyPair::generate_for(alg).map_err(fail)?.serialize_pem()))
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
