//! Sprig's password and encryption helpers: `bcrypt`, `htpasswd`,
//! `derivePassword` (the Master Password algorithm) and
//! `encryptAES`/`decryptAES` (AES-256-CBC, PKCS#7 padding, random IV in
//! front, base64). Outputs match Sprig's byte for byte where they are
//! deterministic (`derivePassword`; `decryptAES` of what either wrote).

use super::super::value::Value;
use super::{arg, text, to_i64, FuncError, FuncResult};
use aws_lc_rs::cipher::{
    DecryptionContext, PaddedBlockDecryptingKey, PaddedBlockEncryptingKey, UnboundCipherKey, AES_256,
};
use base64::Engine as _;

pub fn call(name: &str, args: &[Value]) -> Option<FuncResult> {
    let s = |i: usize| text(&arg(args, i));
    Some(match name {
        "bcrypt" => bcrypt(&s(0)).map(Value::from),
        "htpasswd" => htpasswd(&s(0), &s(1)).map(Value::from),
        "derivePassword" => {
            let counter = u32::try_from(to_i64(&arg(args, 0)))
                .map_err(|_| FuncError::Call("derivePassword: the counter must be 0 to 4294967295".into()));
            counter.and_then(|c| derive_password(c, &s(1), &s(2), &s(3), &s(4))).map(Value::from)
        }
        "encryptAES" => encrypt_aes(&s(0), &s(1)).map(Value::from),
        "decryptAES" => decrypt_aes(&s(0), &s(1)).map(Value::from),
        _ => return None,
    })
}

fn fail(e: impl std::fmt::Display) -> FuncError {
    FuncError::Call(e.to_string())
}

/// Go's bcrypt.DefaultCost, in the `$2a$` form Go writes.
fn bcrypt(password: &str) -> Result<String, FuncError> {
    Ok(bcrypt::hash_with_result(password, 10).map_err(fail)?.format_for_version(bcrypt::Version::TwoA))
}

fn htpasswd(user: &str, password: &str) -> Result<String, FuncError> {
    if user.contains(':') {
        // Sprig returns this text rather than failing.
        return Ok(format!("invalid username: {user}"));
    }
    Ok(format!("{user}:{}", bcrypt(password)?))
}

const MASTER_PASSWORD_SEED: &[u8] = b"com.lyndir.masterpassword";

/// The character classes of Master Password's templates.
fn template_characters(class: u8) -> &'static [u8] {
    match class {
        b'V' => b"AEIOU",
        b'C' => b"BCDFGHJKLMNPQRSTVWXYZ",
        b'v' => b"aeiou",
        b'c' => b"bcdfghjklmnpqrstvwxyz",
        b'A' => b"AEIOUBCDFGHJKLMNPQRSTVWXYZ",
        b'a' => b"AEIOUaeiouBCDFGHJKLMNPQRSTVWXYZbcdfghjklmnpqrstvwxyz",
        b'n' => b"0123456789",
        b'o' => b"@&%?,=[]_:-+*$#!'^~;()/.",
        _ => b"AEIOUaeiouBCDFGHJKLMNPQRSTVWXYZbcdfghjklmnpqrstvwxyz0123456789!@#$%^&*()",
    }
}

fn password_templates(kind: &str) -> Option<&'static [&'static str]> {
    Some(match kind {
        "maximum" => &["anoxxxxxxxxxxxxxxxxx", "axxxxxxxxxxxxxxxxxno"],
        "long" => &[
            "CvcvnoCvcvCvcv",
            "CvcvCvcvnoCvcv",
            "CvcvCvcvCvcvno",
            "CvccnoCvcvCvcv",
            "CvccCvcvnoCvcv",
            "CvccCvcvCvcvno",
            "CvcvnoCvccCvcv",
            "CvcvCvccnoCvcv",
            "CvcvCvccCvcvno",
            "CvcvnoCvcvCvcc",
            "CvcvCvcvnoCvcc",
            "CvcvCvcvCvccno",
            "CvccnoCvccCvcv",
            "CvccCvccnoCvcv",
            "CvccCvccCvcvno",
            "CvcvnoCvccCvcc",
            "CvcvCvccnoCvcc",
            "CvcvCvccCvccno",
            "CvccnoCvcvCvcc",
            "CvccCvcvnoCvcc",
            "CvccCvcvCvccno",
        ],
        "medium" => &["CvcnoCvc", "CvcCvcno"],
        "short" => &["Cvcn"],
        "basic" => &["aaanaaan", "aannaaan", "aaannaaa"],
        "pin" => &["nnnn"],
        _ => return None,
    })
}

/// `seed || len(text) as big-endian u32 || text`, the framing Master
/// Password uses for the user and the site.
fn framed(text: &str) -> Vec<u8> {
    let mut out = MASTER_PASSWORD_SEED.to_vec();
    out.extend_from_slice(&(text.len() as u32).to_be_bytes());
    out.extend_from_slice(text.as_bytes());
    out
}

fn derive_password(counter: u32, kind: &str, password: &str, user: &str, site: &str) -> Result<String, FuncError> {
    let Some(templates) = password_templates(kind) else {
        return Ok(format!("cannot find password template {kind}"));
    };
    let params = scrypt::Params::new(15, 8, 2).map_err(fail)?;
    let mut key = [0u8; 64];
    scrypt::scrypt(password.as_bytes(), &framed(user), &params, &mut key).map_err(fail)?;
    let mut message = framed(site);
    message.extend_from_slice(&counter.to_be_bytes());
    let seed = aws_lc_rs::hmac::sign(&aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, &key), &message);
    let seed = seed.as_ref();
    let template = templates[seed[0] as usize % templates.len()].as_bytes();
    Ok(template
        .iter()
        .enumerate()
        .map(|(i, class)| {
            let chars = template_characters(*class);
            chars[seed[i + 1] as usize % chars.len()] as char
        })
        .collect())
}

/// The password, cut or zero-padded to 32 bytes: an AES-256 key.
fn aes_key(password: &str) -> Result<UnboundCipherKey, FuncError> {
    let mut key = [0u8; 32];
    let bytes = password.as_bytes();
    key[..bytes.len().min(32)].copy_from_slice(&bytes[..bytes.len().min(32)]);
    UnboundCipherKey::new(&AES_256, &key).map_err(|_| fail("cannot make an AES key"))
}

fn encrypt_aes(password: &str, plaintext: &str) -> Result<String, FuncError> {
    if plaintext.is_empty() {
        return Ok(String::new());
    }
    let key = PaddedBlockEncryptingKey::cbc_pkcs7(aes_key(password)?).map_err(|_| fail("cannot make an AES key"))?;
    let mut data = plaintext.as_bytes().to_vec();
    let context = key.encrypt(&mut data).map_err(|_| fail("AES encryption failed"))?;
    let DecryptionContext::Iv128(iv) = context else { return Err(fail("AES-CBC gave no IV")) };
    let mut out = iv.as_ref().to_vec();
    out.extend_from_slice(&data);
    Ok(base64::engine::general_purpose::STANDARD.encode(out))
}

fn decrypt_aes(password: &str, encoded: &str) -> Result<String, FuncError> {
    if encoded.is_empty() {
        return Ok(String::new());
    }
    let bad =
        || fail("decryptAES: the input is not what encryptAES writes (base64 of a 16-byte IV and AES-CBC blocks)");
    let bytes = base64::engine::general_purpose::STANDARD.decode(encoded).map_err(|_| bad())?;
    if bytes.len() < 32 || bytes.len() % 16 != 0 {
        return Err(bad());
    }
    let (iv, data) = bytes.split_at(16);
    let iv: [u8; 16] = iv.try_into().map_err(|_| bad())?;
    let key = PaddedBlockDecryptingKey::cbc_pkcs7(aes_key(password)?).map_err(|_| bad())?;
    let mut data = data.to_vec();
    let plain = key
        .decrypt(&mut data, DecryptionContext::Iv128(iv.into()))
        .map_err(|_| fail("decryptAES: the padding is wrong after decryption (a wrong password, or damaged input)"))?;
    Ok(String::from_utf8_lossy(plain).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok<T>(r: Result<T, FuncError>) -> T {
        r.unwrap_or_else(|e| match e {
            FuncError::Call(m) | FuncError::Fail(m) => panic!("{m}"),
            FuncError::Unknown => panic!("unknown function"),
        })
    }

    #[test]
    fn aes_round_trips_and_the_iv_differs_each_time() {
        let a = ok(encrypt_aes("secret", "hello world"));
        let b = ok(encrypt_aes("secret", "hello world"));
        assert_ne!(a, b);
        assert_eq!(ok(decrypt_aes("secret", &a)), "hello world");
        assert!(decrypt_aes("other", &a).map_or(true, |p| p != "hello world"));
        assert_eq!(ok(encrypt_aes("k", "")), "");
    }

    #[test]
    fn htpasswd_lines_verify_with_bcrypt() {
        let line = ok(htpasswd("admin", "pw"));
        let (user, hash) = line.split_once(':').unwrap();
        assert_eq!(user, "admin");
        assert!(hash.starts_with("$2a$10$"), "{hash}");
        assert!(bcrypt::verify("pw", hash).unwrap());
        assert_eq!(ok(htpasswd("a:b", "pw")), "invalid username: a:b");
    }
}
