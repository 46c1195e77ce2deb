//! A resource's refusal that asks for a stronger sign-in, read from its `WWW-Authenticate:
//! Bearer` challenge (RFC 6750 §3): RFC 9470's step-up (`insufficient_user_authentication`,
//! with `acr_values` and `max_age`) and Entra ID's claims challenge (`insufficient_claims`,
//! with base64 `claims`). Only those values are taken: a URL the challenge names
//! (`authorization_uri`, `resource_metadata`) is ignored, so the new sign-in goes only to the
//! configured provider.
#![doc(hidden)]

/// The longest header value read; a longer one is ignored.
const MAX_HEADER: usize = 8 * 1024;
/// The longest `acr_values` taken (a few URNs).
const MAX_ACR: usize = 512;
/// The longest `claims` taken (Entra ID's are a few hundred bytes).
const MAX_CLAIMS: usize = 4096;

/// What a resource asks a new sign-in for.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StepUp {
    /// `insufficient_user_authentication` or `insufficient_claims`.
    pub error: String,
    /// The resource's words, printable, on one line.
    pub description: Option<String>,
    pub acr_values: Option<String>,
    pub max_age: Option<u64>,
    /// The claims challenge as sent: base64 of a JSON object.
    pub claims: Option<String>,
}

impl StepUp {
    /// The `auth login` flags that ask for it, in order.
    pub fn login_flags(&self) -> Vec<(&'static str, String)> {
        [
            ("--acr-values", self.acr_values.clone()),
            ("--max-age", self.max_age.map(|age| age.to_string())),
            ("--claims-challenge", self.claims.clone()),
        ]
        .into_iter()
        .filter_map(|(flag, value)| Some((flag, value?)))
        .collect()
    }
}

/// The step-up a response's `WWW-Authenticate` values ask for, if any does.
pub fn step_up<'a>(values: impl IntoIterator<Item = &'a str>) -> Option<StepUp> {
    values
        .into_iter()
        .filter(|value| value.len() <= MAX_HEADER)
        .flat_map(challenges)
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .find_map(|(_, params)| read(&params))
}

fn read(params: &[(String, String)]) -> Option<StepUp> {
    let param = |name: &str| {
        params
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    };
    let error = param("error")?;
    let mut step = StepUp {
        error: error.to_owned(),
        description: param("error_description").map(|text| crate::text::one_line(text, 200)),
        ..StepUp::default()
    };
    match error {
        "insufficient_user_authentication" => {
            step.acr_values = param("acr_values")
                .filter(|acr| {
                    acr.len() <= MAX_ACR && acr.chars().all(|c| c.is_ascii_graphic() || c == ' ')
                })
                .map(str::to_owned);
            step.max_age = param("max_age").and_then(|age| age.parse().ok());
        }
        "insufficient_claims" => {
            step.claims = param("claims")
                .filter(|claims| {
                    claims.len() <= MAX_CLAIMS
                        && claims
                            .bytes()
                            .all(|b| b.is_ascii_alphanumeric() || b"+/=-_".contains(&b))
                })
                .map(str::to_owned);
        }
        _ => return None,
    }
    Some(step)
}

/// Each challenge of one header value: its scheme and its parameters (RFC 9110 §11.6.1). A
/// scheme's token68 is skipped; a value that breaks the grammar ends the reading there.
fn challenges(value: &str) -> Vec<(String, Vec<(String, String)>)> {
    let mut found: Vec<(String, Vec<(String, String)>)> = Vec::new();
    let mut rest = value;
    loop {
        rest = rest.trim_start_matches([' ', '\t', ',']);
        let (word, after) = token(rest);
        if word.is_empty() {
            return found;
        }
        let after_space = after.trim_start_matches([' ', '\t']);
        match (after_space.strip_prefix('='), found.last_mut()) {
            // `name=value` within the current challenge.
            (Some(value_start), Some((_, params))) if !value_start.starts_with('=') => {
                let Some((value, next)) = param_value(value_start.trim_start_matches([' ', '\t']))
                else {
                    return found;
                };
                params.push((word.to_ascii_lowercase(), value));
                rest = next;
            }
            // A word on its own: a new challenge's scheme.
            _ if !after_space.starts_with('=') => {
                found.push((word.to_owned(), Vec::new()));
                rest = after;
            }
            // A token68 (`Basic dXNlcg==`): skip it.
            _ => rest = after_space.trim_start_matches('='),
        }
    }
}

/// The leading token (RFC 9110 `tchar`s) of `text`, and what follows it.
fn token(text: &str) -> (&str, &str) {
    let end = text
        .find(|c: char| !(c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~/".contains(c)))
        .unwrap_or(text.len());
    text.split_at(end)
}

/// A parameter's value (a quoted string with its escapes, or a token), and what follows it.
fn param_value(text: &str) -> Option<(String, &str)> {
    let Some(quoted) = text.strip_prefix('"') else {
        let (word, rest) = token(text);
        return (!word.is_empty()).then(|| (word.to_owned(), rest));
    };
    let mut value = String::new();
    let mut chars = quoted.char_indices();
    while let Some((at, c)) = chars.next() {
        match c {
            '"' => return Some((value, &quoted[at + 1..])),
            '\\' => value.push(chars.next()?.1),
            c => value.push(c),
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc_9470_step_up_is_read_with_its_acr_and_max_age() {
        // RFC 9470 §3, the example challenges.
        let step = step_up([
            r#"Bearer error="insufficient_user_authentication", error_description="A different authentication level is required", acr_values="myACR""#,
        ])
        .unwrap();
        assert_eq!(step.acr_values.as_deref(), Some("myACR"));
        assert_eq!(step.login_flags(), [("--acr-values", "myACR".to_owned())]);
        let step = step_up([
            r#"Bearer error="insufficient_user_authentication", error_description="More recent authentication is required", max_age="5""#,
        ])
        .unwrap();
        assert_eq!(step.max_age, Some(5));
    }

    #[test]
    fn an_entra_claims_challenge_is_read_and_its_urls_ignored() {
        // Entra ID's claims challenge (learn.microsoft.com, "Claims challenges, claims
        // requests and client capabilities"), among other challenges.
        let step = step_up([
            "Negotiate, Basic realm=\"x\"",
            r#"Bearer realm="", authorization_uri="https://evil.example.com/authorize", error="insufficient_claims", claims="eyJhY2Nlc3NfdG9rZW4iOnsiYWNycyI6eyJlc3NlbnRpYWwiOnRydWUsInZhbHVlIjoiYzEifX19""#,
        ])
        .unwrap();
        assert_eq!(step.error, "insufficient_claims");
        assert_eq!(
            step.claims.as_deref(),
            Some("eyJhY2Nlc3NfdG9rZW4iOnsiYWNycyI6eyJlc3NlbnRpYWwiOnRydWUsInZhbHVlIjoiYzEifX19")
        );
        assert!(!format!("{step:?}").contains("evil"));
    }

    #[test]
    fn other_refusals_and_hostile_values_ask_for_nothing() {
        for value in [
            r#"Bearer error="invalid_token""#,
            r#"Bearer realm="k8s""#,
            "Basic dXNlcg==",
            r#"Bearer error="insufficient_user_authentication"#,
            "",
        ] {
            assert_eq!(step_up([value]), None, "{value}");
        }
        let step = step_up([
            "Bearer error=\"insufficient_user_authentication\", error_description=\"\x1b[2Jfake\", acr_values=\"a\x07b\"",
        ])
        .unwrap();
        assert_eq!(step.acr_values, None);
        assert!(!step.description.unwrap().contains('\x1b'));
        let huge = format!(
            r#"Bearer error="insufficient_claims", claims="{}""#,
            "A".repeat(MAX_HEADER)
        );
        assert_eq!(step_up([huge.as_str()]), None);
    }
}
