//! Webhooks: the Standard Webhooks signature (<https://www.standardwebhooks.com/>), the
//! endpoint secrets, the retry schedule, and which addresses a delivery may go to. Pure: the
//! server stores, sends and times.
//!
//! A delivery carries `webhook-id` (the message id, the same on every retry), `webhook-timestamp`
//! (Unix seconds) and `webhook-signature: v1,<base64 HMAC-SHA256>` over
//! `"{id}.{timestamp}.{body}"`, keyed with the base64-decoded part of the endpoint's
//! `whsec_…` secret.

use core::net::IpAddr;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

/// What an endpoint's secret starts with.
pub const SECRET_PREFIX: &str = "whsec_";
/// Secret bytes.
pub const SECRET_LEN: usize = 24;
/// Attempts before a delivery fails for good.
pub const MAX_ATTEMPTS: u32 = 8;

/// An endpoint's secret as shown once to its owner: `whsec_` and 24 random bytes in base64.
pub fn secret_from(random: &[u8; SECRET_LEN]) -> String {
    format!("{SECRET_PREFIX}{}", STANDARD.encode(random))
}

/// The `webhook-signature` header of a message: `v1,` and the base64 HMAC. `None` for a
/// secret that is not a `whsec_` one.
pub fn signature(secret: &str, message_id: &str, timestamp_s: i64, body: &[u8]) -> Option<String> {
    let key = STANDARD.decode(secret.strip_prefix(SECRET_PREFIX)?).ok()?;
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).ok()?;
    mac.update(message_id.as_bytes());
    mac.update(b".");
    mac.update(timestamp_s.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    Some(format!(
        "v1,{}",
        STANDARD.encode(mac.finalize().into_bytes())
    ))
}

/// Milliseconds to wait after failed attempt `attempt` (1-based): `base`, then four times as
/// long each time, at most an hour.
pub fn retry_delay_ms(base_ms: u64, attempt: u32) -> u64 {
    let exp = attempt.clamp(1, 12) - 1;
    base_ms
        .saturating_mul(4u64.saturating_pow(exp))
        .min(3_600_000)
}

/// Whether a delivery may go to `ip`: a public unicast address. Loopback, private, link-local,
/// carrier-grade NAT, unique-local, multicast, unspecified, broadcast and documentation
/// addresses are refused, so a webhook cannot be aimed at the server's own network (SSRF).
pub fn public_address(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, ..] = v4.octets();
            !(v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_multicast()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_documentation()
                || a == 0
                || (a == 100 && (64..128).contains(&b))
                || (a == 192 && b == 0 && v4.octets()[2] == 0)
                || (a == 198 && (18..20).contains(&b))
                || a >= 240)
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return public_address(IpAddr::V4(v4));
            }
            let first = v6.segments()[0];
            !(v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (first & 0xfe00) == 0xfc00
                || (first & 0xffc0) == 0xfe80
                || first == 0x2001 && v6.segments()[1] == 0x0db8)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signs_like_the_standard_webhooks_reference() {
        // The example of the Standard Webhooks specification's reference libraries.
        let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
        let sig = signature(
            secret,
            "msg_p5jXN8AQM9LWM0D4loKWxJek",
            1614265330,
            br#"{"test": 2432232314}"#,
        );
        assert_eq!(
            sig.as_deref(),
            Some("v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=")
        );
        assert_eq!(signature("nope", "m", 1, b""), None);
    }

    #[test]
    fn secrets_round_trip() {
        let s = secret_from(&[7; SECRET_LEN]);
        assert!(s.starts_with(SECRET_PREFIX));
        assert!(signature(&s, "m", 1, b"x").is_some());
    }

    #[test]
    fn retries_back_off_to_an_hour() {
        assert_eq!(retry_delay_ms(5_000, 1), 5_000);
        assert_eq!(retry_delay_ms(5_000, 2), 20_000);
        assert_eq!(retry_delay_ms(5_000, 3), 80_000);
        assert_eq!(retry_delay_ms(5_000, 8), 3_600_000);
    }

    #[test]
    fn only_public_addresses() {
        for ok in ["93.184.216.34", "8.8.8.8", "2606:4700::1111"] {
            assert!(public_address(ok.parse().unwrap()), "{ok}");
        }
        for bad in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "255.255.255.255",
            "224.0.0.1",
            "::1",
            "::",
            "fd00::1",
            "fe80::1",
            "::ffff:127.0.0.1",
            "2001:db8::1",
        ] {
            assert!(!public_address(bad.parse().unwrap()), "{bad}");
        }
    }
}
