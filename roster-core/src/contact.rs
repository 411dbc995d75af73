//! E-mail addresses and phone numbers: parsing, canonical forms and the keys
//! that tell whether two entries name the same mailbox or line.
//!
//! One rule holds everywhere (nomination, invitation binding and duplicate
//! detection): two addresses are the same mailbox when their local parts are
//! equal after Unicode normalisation (NFC) and case folding, and their
//! domains are equal in A-label form (`例子.测试` is `xn--fsqu00a.xn--0zwm56d`)
//! and lower case. Sub-addresses (`hoa+roster@`) and dots are not removed:
//! whether they matter depends on the provider, so they only raise a
//! "possible duplicate" hint ([`alias_key`]).

use email_address::EmailAddress;
use unicode_normalization::UnicodeNormalization;

/// Checks an e-mail address (RFC 5321 and, for non-ASCII local parts and
/// domains, RFC 6531). The address must be bare: no display name, no angle
/// brackets.
pub fn validate_email(text: &str) -> Result<(), String> {
    let trimmed = text.trim();
    // A domain needs at least two labels: `name@localhost` is not an
    // address an expert can be reached at.
    let options = email_address::Options {
        minimum_sub_domains: 2,
        ..email_address::Options::default()
    };
    let parsed = EmailAddress::parse_with_options(trimmed, options)
        .map_err(|e| format!("is not a valid e-mail address ({e})"))?;
    if parsed.email() != trimmed || !parsed.display_part().is_empty() {
        return Err(
            "must be a bare address such as name@example.org, without a display name".into(),
        );
    }
    if domain_ascii(parsed.domain()).is_none() {
        return Err("has a domain that cannot be written in A-labels (IDNA)".into());
    }
    Ok(())
}

/// The comparison key of an e-mail address: the local part in NFC and
/// lower case, `@`, the domain in A-labels and lower case. Unparseable input
/// keys as its trimmed lower-case text, so it still compares consistently.
pub fn email_key(text: &str) -> String {
    let trimmed = text.trim();
    let Some((local, domain)) = trimmed.rsplit_once('@') else {
        return trimmed.nfc().collect::<String>().to_lowercase();
    };
    let local: String = local.nfc().collect::<String>().to_lowercase();
    let domain = domain_ascii(domain).unwrap_or_else(|| domain.to_lowercase());
    format!("{local}@{domain}")
}

/// Whether delivering to the address needs the SMTPUTF8 extension: its local
/// part is not ASCII. (A non-ASCII domain alone does not: it is sent in
/// A-labels.)
pub fn needs_smtputf8(text: &str) -> bool {
    text.trim()
        .rsplit_once('@')
        .is_some_and(|(local, _)| !local.is_ascii())
}

/// A looser key for "possible duplicate" hints: the [`email_key`] with any
/// `+tag` sub-address and every dot removed from the local part. Two
/// addresses with the same alias key but different [`email_key`]s may or may
/// not be one mailbox; a person decides.
pub fn alias_key(text: &str) -> String {
    let key = email_key(text);
    match key.rsplit_once('@') {
        Some((local, domain)) => {
            let local = local.split('+').next().unwrap_or(local).replace('.', "");
            format!("{local}@{domain}")
        }
        None => key,
    }
}

fn domain_ascii(domain: &str) -> Option<String> {
    idna::domain_to_ascii(domain).ok().filter(|d| !d.is_empty())
}

/// Parses a phone number and returns it in E.164 (`+66812345678`).
/// `default_region` (ISO 3166-1 alpha-2) applies to numbers written in
/// national form; numbers written with `+` or an international prefix keep
/// their own country code, which is never added twice.
pub fn phone_e164(text: &str, default_region: Option<&str>) -> Result<String, String> {
    let region = default_region.and_then(|r| r.parse::<phonenumber::country::Id>().ok());
    let text = text.trim();
    let read = |region, text: &str| {
        phonenumber::parse(region, text)
            .ok()
            .filter(phonenumber::is_valid)
    };
    // "00" is the international prefix in much of the world but not in every
    // country (Thailand dials 001), so a number that does not read in the
    // default region is tried once more with "00" as "+".
    let number = read(region, text)
        .or_else(|| {
            text.strip_prefix("00")
                .and_then(|rest| read(None, &format!("+{rest}")))
        })
        .ok_or_else(|| match default_region {
            Some(r) => format!(
                "is not a valid phone number, in international form or national form for {r}"
            ),
            None => {
                "is not a valid phone number in international form (+ and country code)".to_owned()
            }
        })?;
    Ok(number.format().mode(phonenumber::Mode::E164).to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn case_and_idna_do_not_split_a_mailbox() {
        assert_eq!(
            email_key("Siti.Rahma@Example.ORG"),
            email_key("siti.rahma@example.org")
        );
        assert_eq!(
            email_key("hoa@例子.测试"),
            email_key("hoa@xn--fsqu00a.xn--0zwm56d")
        );
        assert_eq!(email_key("hoa@例子.测试"), "hoa@xn--fsqu00a.xn--0zwm56d");
        assert_ne!(
            email_key("hoa+roster@example.org"),
            email_key("hoa@example.org")
        );
        assert_eq!(
            alias_key("hoa+roster@example.org"),
            alias_key("hoa@example.org")
        );
        assert_ne!(email_key("n.hoa@gmail.com"), email_key("nhoa@gmail.com"));
        assert_eq!(alias_key("n.hoa@gmail.com"), alias_key("nhoa@gmail.com"));
    }

    #[test]
    fn internationalised_addresses_are_accepted() {
        assert_eq!(validate_email("สมชาย@example.org"), Ok(()));
        assert!(needs_smtputf8("สมชาย@example.org"));
        assert_eq!(validate_email("hoa@例子.测试"), Ok(()));
        assert!(!needs_smtputf8("hoa@例子.测试"));
        assert!(validate_email("not-an-address").is_err());
        assert!(validate_email("Hoa <hoa@example.org>").is_err());
        assert!(validate_email("hoa@").is_err());
        assert!(validate_email("a@b").is_err());
    }

    #[test]
    fn phone_numbers_become_e164_once() {
        for text in [
            "+66 81 234 5678",
            "0066 81-234-5678",
            "081 234 5678",
            "+66 (0)81 234 5678",
        ] {
            assert_eq!(
                phone_e164(text, Some("TH")).as_deref(),
                Ok("+66812345678"),
                "{text}"
            );
        }
        assert_eq!(
            phone_e164("0812-3456-7890", Some("ID")).as_deref(),
            Ok("+6281234567890")
        );
        assert_eq!(
            phone_e164("+6281234567890", Some("TH")).as_deref(),
            Ok("+6281234567890")
        );
        assert!(phone_e164("12", Some("TH")).is_err());
    }
}
