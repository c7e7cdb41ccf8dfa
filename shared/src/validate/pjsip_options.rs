//! Which option keys each PJSIP object accepts, for Asterisk 22.
//!
//! Wazo checks keys against Asterisk's own XML documentation; we ship the
//! same lists statically (sorted, so lookups are binary searches and error
//! messages list them in order). `type` is absent everywhere on purpose: the
//! renderer writes it. Identify and registration use Wazo's fixed, shorter
//! lists.

/// An option set: the kind of Asterisk object a list of options configures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OptionSet {
    /// `type = endpoint`.
    Endpoint,
    /// `type = aor`.
    Aor,
    /// `type = auth` (inbound auth, outbound auth, registration auth).
    Auth,
    /// `type = identify` (Wazo's fixed list).
    Identify,
    /// `type = registration` (Wazo's fixed list).
    Registration,
    /// `type = transport`.
    Transport,
    /// `[global]`.
    Global,
    /// `[system]`.
    System,
}

impl OptionSet {
    /// The accepted keys, sorted.
    pub fn keys(self) -> &'static [&'static str] {
        match self {
            Self::Endpoint => ENDPOINT,
            Self::Aor => AOR,
            Self::Auth => AUTH,
            Self::Identify => IDENTIFY,
            Self::Registration => REGISTRATION,
            Self::Transport => TRANSPORT,
            Self::Global => GLOBAL,
            Self::System => SYSTEM,
        }
    }

    /// Whether `key` is an option of this object. Sorcery custom fields
    /// (`@name`) are accepted on endpoints and AORs only, as in Wazo.
    pub fn accepts(self, key: &str) -> bool {
        if let Some(custom) = key.strip_prefix('@') {
            return matches!(self, Self::Endpoint | Self::Aor)
                && !custom.is_empty()
                && custom.bytes().all(|b| b.is_ascii_alphanumeric() || b"_-.".contains(&b));
        }
        self.keys().binary_search(&key).is_ok()
    }

    /// What Asterisk calls this object, for messages.
    pub fn object_name(self) -> &'static str {
        match self {
            Self::Endpoint => "endpoint",
            Self::Aor => "aor",
            Self::Auth => "auth",
            Self::Identify => "identify",
            Self::Registration => "registration",
            Self::Transport => "transport",
            Self::Global => "global",
            Self::System => "system",
        }
    }
}

/// Keys people bring from chan_sip or from documentation typos, with where
/// the setting really lives. Used to make "invalid variable" errors helpful.
pub fn hint_for(key: &str) -> Option<&'static str> {
    Some(match key {
        "external_media_port" => {
            "there is no `external_media_port`: the public IP address for media goes in `external_media_address` (transport options)"
        }
        "qualify" | "qualifyfreq" => {
            "chan_sip's qualify is PJSIP's `qualify_frequency` (seconds) in aor_section_options"
        }
        "nat" => "chan_sip's nat=yes is PJSIP's `rtp_symmetric = yes` and `rewrite_contact = yes` (endpoint)",
        "secret" => "the password goes in an auth section as `password`",
        "host" => "a fixed peer address is an aor `contact` (and an identify `match`)",
        "insecure" => "to accept calls without auth, leave auth_section_options empty and add an identify `match`",
        "dtmfmode" => "PJSIP spells it `dtmf_mode`",
        "fromuser" | "fromdomain" => "PJSIP spells them `from_user` / `from_domain` (endpoint)",
        "type" => "`type` is written by Patchbay; do not set it",
        _ => return None,
    })
}

const ENDPOINT: &[&str] = &[
    "100rel", "accept_multiple_sdp_answers", "accountcode", "aggregate_mwi", "allow",
    "allow_overlap", "allow_sending_180_after_183", "allow_subscribe", "allow_transfer",
    "allow_unauthenticated_options", "aors", "asymmetric_rtp_codec", "auth",
    "bind_rtp_to_media_address", "bundle", "call_group", "callerid", "callerid_privacy",
    "callerid_tag", "codec_prefs_incoming_answer", "codec_prefs_incoming_offer",
    "codec_prefs_outgoing_answer", "codec_prefs_outgoing_offer", "connected_line_method",
    "contact_user", "context", "cos_audio", "cos_video", "device_state_busy_at", "direct_media",
    "direct_media_glare_mitigation", "direct_media_method", "disable_direct_media_on_nat",
    "disallow", "dtls_auto_generate_cert", "dtls_ca_file", "dtls_ca_path", "dtls_cert_file",
    "dtls_cipher", "dtls_fingerprint", "dtls_private_key", "dtls_rekey", "dtls_setup",
    "dtls_verify", "dtmf_mode", "fax_detect", "fax_detect_timeout", "follow_early_media_fork",
    "force_avp", "force_rport", "from_domain", "from_user", "g726_non_standard",
    "geoloc_incoming_call_profile", "geoloc_outgoing_call_profile", "ice_support", "identify_by",
    "ignore_183_without_sdp", "inband_progress", "incoming_call_offer_pref",
    "incoming_mwi_mailbox", "language", "mailboxes", "max_audio_streams", "max_video_streams",
    "media_address", "media_encryption", "media_encryption_optimistic",
    "media_use_received_transport", "message_context", "moh_passthrough", "moh_suggest",
    "mwi_from_user", "mwi_subscribe_replaces_unsolicited", "named_call_group",
    "named_pickup_group", "notify_early_inuse_ringing", "one_touch_recording", "outbound_auth",
    "outbound_proxy", "outgoing_call_offer_pref", "overlap_context", "pickup_group",
    "preferred_codec_only", "record_off_feature", "record_on_feature", "redirect_method",
    "refer_blind_progress", "rewrite_contact", "rpid_immediate", "rtcp_mux", "rtp_engine",
    "rtp_ipv6", "rtp_keepalive", "rtp_symmetric", "rtp_timeout", "rtp_timeout_hold",
    "sdp_owner", "sdp_session", "security_mechanisms", "security_negotiation", "send_aoc",
    "send_connected_line", "send_diversion", "send_history_info", "send_pai", "send_rpid",
    "set_var", "srtp_tag_32", "stir_shaken", "stir_shaken_profile", "sub_min_expiry",
    "subscribe_context", "suppress_moh_on_sendonly", "suppress_q850_reason_headers",
    "t38_bind_udptl_to_media_address", "t38_udptl", "t38_udptl_ec", "t38_udptl_ipv6",
    "t38_udptl_maxdatagram", "t38_udptl_nat", "tenantid", "timers", "timers_min_se",
    "timers_sess_expires", "tone_zone", "tos_audio", "tos_video", "transport",
    "trust_connected_line", "trust_id_inbound", "trust_id_outbound", "use_avpf", "use_ptime",
    "user_eq_phone", "voicemail_extension", "webrtc",
];

const AOR: &[&str] = &[
    "authenticate_qualify", "contact", "default_expiration", "mailboxes", "max_contacts",
    "maximum_expiration", "minimum_expiration", "outbound_proxy", "qualify_2xx_only",
    "qualify_frequency", "qualify_timeout", "remove_existing", "remove_unavailable",
    "support_path", "voicemail_extension",
];

const AUTH: &[&str] = &[
    "auth_type", "md5_cred", "nonce_lifetime", "oauth_clientid", "oauth_secret", "password",
    "password_digest", "realm", "refresh_token", "supported_algorithms_uac",
    "supported_algorithms_uas", "username",
];

const IDENTIFY: &[&str] = &["endpoint", "match", "match_header", "srv_lookups"];

const REGISTRATION: &[&str] = &[
    "auth_rejection_permanent", "client_uri", "contact_header_params", "contact_user",
    "expiration", "fatal_retry_interval", "forbidden_retry_interval", "line", "max_retries",
    "outbound_proxy", "retry_interval", "server_uri", "support_outbound", "support_path",
    "transport",
];

const TRANSPORT: &[&str] = &[
    "allow_reload", "allow_wildcard_certs", "async_operations", "bind", "ca_list_file",
    "ca_list_path", "cert_file", "cipher", "cos", "domain", "external_media_address",
    "external_signaling_address", "external_signaling_port", "local_net", "method", "password",
    "priv_key_file", "protocol", "require_client_cert", "symmetric_transport",
    "tcp_keepalive_enable", "tcp_keepalive_idle_time", "tcp_keepalive_interval_time",
    "tcp_keepalive_probe_count", "tos", "verify_client", "verify_server",
    "websocket_write_timeout",
];

const GLOBAL: &[&str] = &[
    "all_codecs_on_empty_reinvite", "allow_sending_180_after_183",
    "contact_expiration_check_interval", "debug", "default_from_user",
    "default_outbound_endpoint", "default_realm", "default_voicemail_extension",
    "disable_multi_domain", "endpoint_identifier_order", "ignore_uri_user_options",
    "keep_alive_interval", "max_forwards", "max_initial_qualify_time",
    "mwi_disable_initial_unsolicited", "mwi_tps_queue_high", "mwi_tps_queue_low", "norefersub",
    "regcontext", "send_contact_status_on_update_registration", "taskprocessor_overload_trigger",
    "unidentified_request_count", "unidentified_request_period",
    "unidentified_request_prune_interval", "use_callerid_contact", "user_agent",
];

const SYSTEM: &[&str] = &[
    "accept_multiple_sdp_answers", "compact_headers", "disable_rport", "disable_tcp_switch",
    "follow_early_media_fork", "threadpool_auto_increment", "threadpool_idle_timeout",
    "threadpool_initial_size", "threadpool_max_size", "timer_b", "timer_t1",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_table_is_sorted_and_has_no_type() {
        let sets = [
            OptionSet::Endpoint, OptionSet::Aor, OptionSet::Auth, OptionSet::Identify,
            OptionSet::Registration, OptionSet::Transport, OptionSet::Global, OptionSet::System,
        ];
        for set in sets {
            let keys = set.keys();
            assert!(keys.windows(2).all(|w| w[0] < w[1]), "{set:?} not sorted/unique");
            assert!(!set.accepts("type"), "{set:?} accepts type");
        }
    }

    #[test]
    fn real_options_are_accepted_in_their_own_section_only() {
        assert!(OptionSet::Endpoint.accepts("rtp_symmetric"));
        assert!(OptionSet::Endpoint.accepts("identify_by"));
        assert!(OptionSet::Aor.accepts("qualify_frequency"));
        assert!(!OptionSet::Endpoint.accepts("qualify_frequency"));
        assert!(OptionSet::Identify.accepts("match_header"));
        assert!(OptionSet::Registration.accepts("auth_rejection_permanent"));
        assert!(!OptionSet::Registration.accepts("max_random_initial_delay"));
        assert!(OptionSet::Transport.accepts("external_media_address"));
        assert!(!OptionSet::Transport.accepts("external_media_port"));
        assert!(!OptionSet::Endpoint.accepts("qualify"));
    }

    #[test]
    fn sorcery_custom_fields_only_on_endpoint_and_aor() {
        assert!(OptionSet::Endpoint.accepts("@hint_exten"));
        assert!(OptionSet::Aor.accepts("@note"));
        assert!(!OptionSet::Auth.accepts("@note"));
        assert!(!OptionSet::Endpoint.accepts("@"));
        assert!(!OptionSet::Endpoint.accepts("@a;b"));
    }
}
