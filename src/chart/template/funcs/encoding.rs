//! Encodings, digests, YAML/JSON, semver, random strings and Helm's
//! `lookup` (which finds nothing offline, as `helm template` does).

use super::super::convert::{from_json, from_yaml, to_json, to_pretty_json, to_toml, to_yaml};
use super::super::semver;
use super::super::value::{Map, Value};
use super::{arg, text, to_i64, too_many, FuncError, FuncResult, MAX_ELEMENTS};
use base64::Engine as _;

pub fn call(name: &str, args: &[Value]) -> Option<FuncResult> {
    let s = |i: usize| text(&arg(args, i));
    let string = |v: String| Ok(Value::from(v));
    let b64 = base64::engine::general_purpose::STANDARD;
    Some(match name {
        "b64enc" => string(b64.encode(s(0))),
        "b64dec" => {
            string(b64.decode(s(0)).map(|b| String::from_utf8_lossy(&b).into_owned()).unwrap_or_else(|e| e.to_string()))
        }
        "b32enc" => string(base32_encode(s(0).as_bytes())),
        "sha1sum" => string(hex::encode(<sha1::Sha1 as sha1::Digest>::digest(s(0).as_bytes()))),
        "sha256sum" => string(hex::encode(<sha2::Sha256 as sha2::Digest>::digest(s(0).as_bytes()))),
        "sha512sum" => string(hex::encode(<sha2::Sha512 as sha2::Digest>::digest(s(0).as_bytes()))),
        "adler32sum" => string(adler32(s(0).as_bytes()).to_string()),
        "toJson" | "mustToJson" | "toRawJson" | "mustToRawJson" => {
            let json = to_json(&arg(args, 0));
            // toRawJson is toJson without the HTML escapes.
            if name.ends_with("RawJson") {
                string(json.replace("\\u003c", "<").replace("\\u003e", ">").replace("\\u0026", "&"))
            } else {
                string(json)
            }
        }
        "toPrettyJson" | "mustToPrettyJson" => string(to_pretty_json(&arg(args, 0))),
        "fromJson" | "mustFromJson" => Ok(from_json(&s(0)).unwrap_or_else(error_map)),
        "fromJsonArray" | "mustFromJsonArray" => Ok(from_json(&s(0)).map(as_list).unwrap_or_else(error_list)),
        "toYaml" | "mustToYaml" | "toYamlPretty" => string(to_yaml(&arg(args, 0))),
        "toToml" => string(to_toml(&arg(args, 0))),
        "fromYaml" => Ok(from_yaml(&s(0)).map(as_map).unwrap_or_else(error_map)),
        "fromYamlArray" => Ok(from_yaml(&s(0)).map(as_list).unwrap_or_else(error_list)),
        "semver" | "mustSemver" => {
            semver::Version::parse(&s(0)).map(semver::Version::into_value).map_err(FuncError::Call)
        }
        "semverCompare" | "mustSemverCompare" => {
            semver::satisfies(&s(0), &s(1)).map(Value::Bool).map_err(FuncError::Call)
        }
        "randAlphaNum" => {
            random(to_i64(&arg(args, 0)), b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789")
                .and_then(string)
        }
        "randAlpha" => {
            random(to_i64(&arg(args, 0)), b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz").and_then(string)
        }
        "randNumeric" => random(to_i64(&arg(args, 0)), b"0123456789").and_then(string),
        "randAscii" => {
            let printable: Vec<u8> = (b' '..=b'~').collect();
            random(to_i64(&arg(args, 0)), &printable).and_then(string)
        }
        "shuffle" => {
            let mut chars: Vec<char> = s(0).chars().collect();
            for i in (1..chars.len()).rev() {
                chars.swap(i, random_below(i as u64 + 1) as usize);
            }
            string(chars.into_iter().collect())
        }
        "uuidv4" => {
            let mut b = random_bytes(16);
            b[6] = (b[6] & 0x0f) | 0x40;
            b[8] = (b[8] & 0x3f) | 0x80;
            let h = hex::encode(b);
            string(format!("{}-{}-{}-{}-{}", &h[..8], &h[8..12], &h[12..16], &h[16..20], &h[20..]))
        }
        "lookup" => Ok(Value::map(Map::new())),
        _ => return None,
    })
}

/// Helm's fromYaml/fromJson return `{"Error": "..."}` instead of failing.
fn error_map(e: String) -> Value {
    let mut m = Map::new();
    m.insert("Error".into(), Value::from(e));
    Value::map(m)
}

fn error_list(e: String) -> Value {
    Value::list(vec![Value::from(e)])
}

fn as_map(v: Value) -> Value {
    match v {
        Value::Nil => Value::map(Map::new()),
        other => other,
    }
}

fn as_list(v: Value) -> Value {
    match v {
        Value::Nil => Value::list(Vec::new()),
        other => other,
    }
}

fn random_bytes(n: usize) -> Vec<u8> {
    let mut buf = vec![0u8; n];
    getrandom::fill(&mut buf).expect("the OS random source is available");
    buf
}

fn random_below(n: u64) -> u64 {
    let b = random_bytes(8);
    u64::from_le_bytes(b.try_into().expect("8 bytes")) % n
}

fn random(n: i64, alphabet: &[u8]) -> Result<String, FuncError> {
    if n > MAX_ELEMENTS {
        return Err(too_many("characters", n));
    }
    Ok((0..n.max(0)).map(|_| alphabet[random_below(alphabet.len() as u64) as usize] as char).collect())
}

fn adler32(data: &[u8]) -> u32 {
    let mut a = adler2::Adler32::new();
    a.write_slice(data);
    a.checksum()
}

fn base32_encode(data: &[u8]) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let mut out = String::new();
    for chunk in data.chunks(5) {
        let mut buf = [0u8; 5];
        buf[..chunk.len()].copy_from_slice(chunk);
        let bits = u64::from_be_bytes([0, 0, 0, buf[0], buf[1], buf[2], buf[3], buf[4]]);
        let chars = (chunk.len() * 8).div_ceil(5);
        for i in 0..8 {
            if i < chars {
                out.push(ALPHABET[((bits >> (35 - i * 5)) & 31) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}
