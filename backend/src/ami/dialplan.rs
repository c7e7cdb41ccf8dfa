//! The live dialplan over AMI: `DialplanExtensionAdd`/`Remove`, and the
//! pbx_config CLI commands AMI has no action for (`dialplan add include`,
//! `dialplan remove include`, `dialplan remove context`, `dialplan show`)
//! sent through `Command`, with the parsing of their output. Names reach
//! here from `render::escape` (`[A-Za-z0-9_-]` for contexts), so they hold
//! no space a CLI line would split on; they are checked again below.

use super::{AmiClient, AmiError, AmiMessage};

/// A name the CLI would read as one word.
fn one_word(name: &str) -> Result<&str, AmiError> {
    if name.is_empty() || name.chars().any(char::is_whitespace) {
        return Err(AmiError::ActionFailed { action: "Command".into(), message: format!("not a single word: {name:?}") });
    }
    Ok(name)
}

/// Adds (or replaces) one priority; creates the context when missing.
pub async fn add_priority(client: &AmiClient, context: &str, extension: &str, priority: usize, application: &str, data: &str) -> Result<(), AmiError> {
    let headers = AmiMessage::new()
        .with("Context", context)
        .with("Extension", extension)
        .with("Priority", priority.to_string())
        .with("Application", application)
        .with("ApplicationData", data)
        .with("Replace", "yes");
    client.send("DialplanExtensionAdd", headers).await.map(|_| ())
}

/// Removes a whole extension; an absent one is what a removal wants.
pub async fn remove_extension(client: &AmiClient, context: &str, extension: &str) -> Result<(), AmiError> {
    let headers = AmiMessage::new().with("Context", context).with("Extension", extension);
    match client.send("DialplanExtensionRemove", headers).await {
        Ok(_) | Err(AmiError::ActionFailed { .. }) => Ok(()),
        Err(error) => Err(error),
    }
}

/// `include => included` at the end of `context`'s includes (creating the
/// context when missing), as `dialplan add include` does; one already there
/// is kept.
pub async fn add_include(client: &AmiClient, context: &str, included: &str) -> Result<(), AmiError> {
    let command = format!("dialplan add include {} into {}", one_word(included)?, one_word(context)?);
    let output = client.command(&command).await?;
    if output.iter().any(|line| line.contains("included in") || line.contains("already included")) {
        Ok(())
    } else {
        Err(AmiError::ActionFailed { action: "Command".into(), message: format!("{command}: {}", output.join(" ")) })
    }
}

/// Removes `include => included` from `context`; an absent one is fine.
pub async fn remove_include(client: &AmiClient, context: &str, included: &str) -> Result<(), AmiError> {
    let command = format!("dialplan remove include {} from {}", one_word(included)?, one_word(context)?);
    match client.command(&command).await {
        Ok(_) | Err(AmiError::ActionFailed { .. }) => Ok(()),
        Err(error) => Err(error),
    }
}

/// Removes a whole context; an absent one is fine.
pub async fn remove_context(client: &AmiClient, context: &str) -> Result<(), AmiError> {
    match client.command(&format!("dialplan remove context {}", one_word(context)?)).await {
        Ok(_) | Err(AmiError::ActionFailed { .. }) => Ok(()),
        Err(error) => Err(error),
    }
}

/// Adds the sentinel: a context only the live dialplan has, so that its
/// absence tells a reload nobody announced (`dialplan reload` emits no event).
pub async fn add_sentinel(client: &AmiClient, context: &str) -> Result<(), AmiError> {
    add_priority(client, context, "s", 1, "NoOp", "patchbay: gone after a dialplan reload").await
}

/// The number of priorities `dialplan show CONTEXT` counts; `None` when
/// Asterisk has no such context.
pub async fn context_priorities(client: &AmiClient, context: &str) -> Result<Option<usize>, AmiError> {
    match client.command(&format!("dialplan show {}", one_word(context)?)).await {
        Ok(output) => Ok(priority_count(&output)),
        Err(AmiError::ActionFailed { message, .. }) if message.contains("There is no existence") => Ok(None),
        Err(error) => Err(error),
    }
}

/// The priorities `dialplan show` counts in its last line
/// (`-= 3 extensions (5 priorities) in 1 context. =-`); `None` when it says
/// the context does not exist.
pub fn priority_count(output: &[String]) -> Option<usize> {
    if output.iter().any(|line| line.contains("There is no existence")) {
        return None;
    }
    output.iter().rev().find(|line| line.trim_start().starts_with("-=")).and_then(|line| {
        let after = line.split_once('(')?.1;
        after.split_whitespace().next()?.parse().ok()
    })
}

/// `pjsip show transports`: the transport names it lists.
pub fn transport_names(output: &[String]) -> std::collections::BTreeSet<String> {
    output
        .iter()
        .filter_map(|line| line.trim_start().strip_prefix("Transport:"))
        .filter_map(|rest| rest.split_whitespace().next())
        .filter(|name| !name.starts_with('<'))
        .map(str::to_string)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(text: &str) -> Vec<String> {
        text.lines().map(str::to_string).collect()
    }

    #[test]
    fn priority_count_reads_the_summary_line() {
        let output = lines("[ Context 'out' created by 'pbx_config' ]\n  '100' =>  1. NoOp()  [pbx_config]\n\n-= 1 extension (1 priority) in 1 context. =-");
        assert_eq!(priority_count(&output), Some(1));
        assert_eq!(priority_count(&lines("There is no existence of 'x' context")), None);
    }

    #[test]
    fn names_with_spaces_never_reach_the_cli() {
        assert!(one_word("a b").is_err());
        assert!(one_word("").is_err());
        assert_eq!(one_word("pb-out").unwrap(), "pb-out");
    }
}
