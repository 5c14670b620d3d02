//! Resource-server side of jwtd's default-algorithm decision (issue 11): jsonwebtoken 8 (ring)
//! signing and verifying a jwtd-style access token for each asymmetric algorithm jwtd serve can
//! sign with. Keys are PEM files made by `jwtd keygen` (private PKCS#8) and `openssl pkey -pubout`.
//! Usage: jwtd-verify-algs KEYDIR   (KEYDIR/{EdDSA,ES256,RS256,PS256}{.pem,.pub.pem});
//! scripts/bench-algs.sh builds and runs it. Figures only, never a test.
use jsonwebtoken::{decode, encode, Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

const AUD: &str = "https://api.example.com";

#[derive(Serialize, Deserialize)]
struct Claims {
    iss: String,
    sub: String,
    aud: String,
    exp: u64,
    iat: u64,
    jti: String,
    roles: Vec<String>,
}

/// Median us/op of 5 rounds of about 300 ms.
fn median_us(mut op: impl FnMut()) -> f64 {
    op();
    let mut per = Vec::new();
    for _ in 0..5 {
        let t0 = Instant::now();
        let mut n = 0u64;
        while t0.elapsed().as_millis() < 300 {
            for _ in 0..8 {
                op();
            }
            n += 8;
        }
        per.push(t0.elapsed().as_secs_f64() * 1e6 / n as f64);
    }
    per.sort_by(|a, b| a.partial_cmp(b).unwrap());
    per[per.len() / 2]
}

fn main() {
    let dir = std::env::args().nth(1).expect("usage: jwtd-verify-algs KEYDIR");
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs();
    let claims = Claims {
        iss: "https://auth.example.com".into(),
        sub: "user-8f14e45fceea167a".into(),
        aud: AUD.into(),
        exp: now + 900,
        iat: now,
        jti: "1b4e28ba-2fa1-11d2-883f-0016d3cca427".into(),
        roles: vec!["user".into(), "billing:read".into(), "admin".into()],
    };
    println!("jsonwebtoken 8 (ring); us/op, median of 5 rounds of ~300 ms");
    println!("alg    bytes  sign       verify (decode, alg pinned, aud checked)");
    for (name, alg) in [
        ("EdDSA", Algorithm::EdDSA),
        ("ES256", Algorithm::ES256),
        ("RS256", Algorithm::RS256),
        ("PS256", Algorithm::PS256),
    ] {
        let private = std::fs::read(format!("{dir}/{name}.pem")).expect("private PEM");
        let public = std::fs::read(format!("{dir}/{name}.pub.pem")).expect("public PEM");
        let (ek, dk) = match alg {
            Algorithm::EdDSA => (EncodingKey::from_ed_pem(&private), DecodingKey::from_ed_pem(&public)),
            Algorithm::ES256 => (EncodingKey::from_ec_pem(&private), DecodingKey::from_ec_pem(&public)),
            _ => (EncodingKey::from_rsa_pem(&private), DecodingKey::from_rsa_pem(&public)),
        };
        let (ek, dk) = (ek.expect("encoding key"), dk.expect("decoding key"));
        let mut header = Header::new(alg);
        header.kid = Some("k1".into());
        let token = encode(&header, &claims, &ek).expect("encode");
        let mut v = Validation::new(alg);
        v.set_audience(&[AUD]);
        let sign = median_us(|| {
            encode(&header, &claims, &ek).expect("encode");
        });
        let verify = median_us(|| {
            let t = decode::<Claims>(&token, &dk, &v).expect("decode");
            assert!(t.claims.sub.starts_with('u'));
        });
        println!("{name:<6} {:<6} {sign:<10.1} {verify:.1}", token.len());
    }
}
