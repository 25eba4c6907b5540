//! Sprig's certificate and key generators (genCA, genSelfSignedCert,
//! genSignedCert, genPrivateKey), on rcgen with aws-lc-rs. Certificates are
//! `{Cert, Key}` in PEM, as in Sprig; keys are RSA 2048 for certificates and
//! written as PKCS#8 (`PRIVATE KEY`), where Sprig writes PKCS#1 (`RSA
//! PRIVATE KEY`); both are what TLS secrets hold.

use super::super::value::{Map, Value};
use super::{arg, text, to_i64, FuncError, FuncResult};
use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose, SanType,
};

pub fn call(name: &str, args: &[Value]) -> Option<FuncResult> {
    Some(match name {
        "genCA" => ca(&text(&arg(args, 0)), to_i64(&arg(args, 1))),
        "genSelfSignedCert" => leaf(&text(&arg(args, 0)), &arg(args, 1), &arg(args, 2), to_i64(&arg(args, 3)), None),
        "genSignedCert" => {
            leaf(&text(&arg(args, 0)), &arg(args, 1), &arg(args, 2), to_i64(&arg(args, 3)), Some(&arg(args, 4)))
        }
        "genPrivateKey" => private_key(&text(&arg(args, 0))),
        _ => return None,
    })
}

fn fail(e: impl std::fmt::Display) -> FuncError {
    FuncError::Call(e.to_string())
}

fn rsa_key() -> Result<KeyPair, FuncError> {
    KeyPair::generate_for(&rcgen::PKCS_RSA_SHA256).map_err(fail)
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

fn ca(cn: &str, days: i64) -> FuncResult {
    let key = rsa_key()?;
    let mut p = params(cn, days)?;
    p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    p.key_usages =
        vec![KeyUsagePurpose::KeyEncipherment, KeyUsagePurpose::DigitalSignature, KeyUsagePurpose::KeyCertSign];
    let cert = p.self_signed(&key).map_err(fail)?;
    Ok(certificate(cert.pem(), key.serialize_pem()))
}

fn leaf(cn: &str, ips: &Value, names: &Value, days: i64, ca: Option<&Value>) -> FuncResult {
    let key = rsa_key()?;
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
        None => p.self_signed(&key).map_err(fail)?,
        Some(Value::Map(ca)) => {
            let ca = ca.borrow();
            let field = |k: &str| ca.get(k).map(text).unwrap_or_default();
            let ca_key = KeyPair::from_pem(&field("Key")).map_err(|e| FuncError::Call(format!("bad CA key: {e}")))?;
            let issuer = Issuer::from_ca_cert_pem(&field("Cert"), ca_key)
                .map_err(|e| FuncError::Call(format!("bad CA certificate: {e}")))?;
            p.signed_by(&key, &issuer).map_err(fail)?
        }
        Some(_) => return Err(FuncError::Call("genSignedCert needs a certificate from genCA".into())),
    };
    Ok(certificate(cert.pem(), key.serialize_pem()))
}
