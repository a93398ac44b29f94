//! SNS: publishing a notification to a topic.

use aws_sdk_sns::Client;

use super::{Api, AwsError};

/// The longest subject SNS accepts (ASCII characters).
const MAX_SUBJECT: usize = 100;

#[derive(Clone, Debug)]
pub struct Sns {
    client: Api<Client>,
}

impl Sns {
    pub fn new(config: &aws_config::SdkConfig) -> Self {
        Sns { client: Api::new(config, "sns", Client::new) }
    }

    /// Publishes `message` to the topic; the subject is made acceptable first (see [`subject`]).
    /// Returns the message id.
    pub async fn publish(&self, topic_arn: &str, subject: &str, message: &str) -> Result<String, AwsError> {
        let out = self
            .client
            .publish()
            .topic_arn(topic_arn)
            .subject(self::subject(subject))
            .message(message)
            .send()
            .await
            .map_err(|e| self.client.error("sns:Publish", e))?;
        Ok(out.message_id().unwrap_or_default().to_owned())
    }
}

/// `s` as an SNS subject: printable ASCII only (line breaks and other control characters become
/// spaces, other characters `?`), no leading or trailing blanks, at most [`MAX_SUBJECT`]
/// characters (a longer one ends in `...`), and never empty.
fn subject(s: &str) -> String {
    let clean: String = s
        .chars()
        .map(|c| match c {
            ' '..='~' => c,
            c if c.is_control() => ' ',
            _ => '?',
        })
        .collect();
    let clean = clean.trim();
    match clean.len() {
        0 => "trimtab".to_owned(),
        n if n <= MAX_SUBJECT => clean.to_owned(),
        _ => format!("{}...", clean[..MAX_SUBJECT - 3].trim_end()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subjects_are_printable_ascii_of_at_most_100_characters() {
        let cases = [
            ("trimtab prod/web: budget warning (forecast)", "trimtab prod/web: budget warning (forecast)"),
            ("  two\nlines\r\tand tab ", "two lines  and tab"),
            ("caf\u{e9} \u{1F4B8} budget", "caf? ? budget"),
            ("\n\n", "trimtab"),
            ("", "trimtab"),
        ];
        for (input, want) in cases {
            assert_eq!(subject(input), want, "{input:?}");
        }
    }

    #[test]
    fn long_subjects_are_cut_with_an_ellipsis() {
        assert_eq!(subject(&"x".repeat(100)), "x".repeat(100));
        let cut = subject(&format!("{} tail", "y".repeat(120)));
        assert_eq!(cut.len(), MAX_SUBJECT);
        assert_eq!(cut, format!("{}...", "y".repeat(97)));
        // Multi-byte characters are replaced before cutting, so the cut is always on a boundary.
        assert_eq!(subject(&"\u{e9}".repeat(200)).len(), MAX_SUBJECT);
    }
}
