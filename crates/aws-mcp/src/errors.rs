//! What an AWS SDK error means for the caller, decided from the error's type and AWS's error
//! code ([`ProvideErrorMetadata::code`], [`SdkError::as_service_error`]), never from its
//! message: a message is AWS's prose (or an upstream proxy's) and may say anything.

use std::error::Error;

use aws_credential_types::provider::error::CredentialsError;
use aws_sdk_sts::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use governance::server::ToolError;

/// What fixes missing or rejected credentials.
const LOGIN: &str = "run `aws sso login` (or `claude-enterprise login aws`), or set AWS_PROFILE";

/// The kinds of AWS error codes a caller acts on differently.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// The credentials are expired, unknown or badly signed: log in again.
    Credentials,
    /// The credentials are fine but may not make this call.
    Permission,
    /// The named thing does not exist (here).
    NotFound,
    /// The request's arguments are wrong: the caller can fix them.
    Invalid,
    /// Too many requests: retry later.
    Throttled,
    /// Anything else: AWS's own words.
    Other,
}

/// The kind of an AWS error code, across the services this crate calls (STS, CloudWatch,
/// CloudWatch Logs, EC2, RDS, EKS).
fn kind(code: &str) -> Kind {
    match code {
        "ExpiredToken"
        | "ExpiredTokenException"
        | "InvalidClientTokenId"
        | "UnrecognizedClientException"
        | "RequestExpired"
        | "InvalidSignatureException"
        | "SignatureDoesNotMatch"
        | "IncompleteSignature"
        | "AuthFailure"
        | "InvalidAccessKeyId"
        | "InvalidToken"
        | "MissingAuthenticationToken"
        | "MissingAuthenticationTokenException" => Kind::Credentials,
        "AccessDenied"
        | "AccessDeniedException"
        | "UnauthorizedOperation"
        | "UnauthorizedException"
        | "AuthorizationError"
        | "NotAuthorized" => Kind::Permission,
        "ResourceNotFoundException"
        | "ResourceNotFound"
        | "NotFoundException"
        | "DBInstanceNotFound"
        | "DBInstanceNotFoundFault"
        | "InvalidInstanceID.NotFound" => Kind::NotFound,
        "ValidationException"
        | "ValidationError"
        | "InvalidParameter"
        | "InvalidParameterValue"
        | "InvalidParameterValueException"
        | "InvalidParameterCombination"
        | "InvalidParameterException"
        | "InvalidParameterInput"
        | "MissingParameter"
        | "MissingRequiredParameter"
        | "InvalidInstanceID.Malformed"
        | "InvalidFilter"
        | "MalformedQueryException"
        | "InvalidQueryException"
        | "InvalidNextToken" => Kind::Invalid,
        "Throttling"
        | "ThrottlingException"
        | "ThrottledException"
        | "RequestLimitExceeded"
        | "TooManyRequestsException"
        | "LimitExceededException"
        | "RequestThrottled"
        | "SlowDown" => Kind::Throttled,
        _ => Kind::Other,
    }
}

/// Whether `error`, or anything it was caused by, is a credentials provider's failure (no
/// credentials anywhere in the chain, an SSO session gone, a profile that cannot be read).
fn credentials_failed(error: &(dyn Error + 'static)) -> bool {
    let mut next: Option<&(dyn Error + 'static)> = Some(error);
    while let Some(e) = next {
        if e.is::<CredentialsError>() {
            return true;
        }
        next = e.source();
    }
    false
}

/// The tool error for an SDK error.
pub fn classify<E, R>(error: SdkError<E, R>) -> ToolError
where
    E: ProvideErrorMetadata + Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    if credentials_failed(&error) {
        return ToolError::Unauthorized(format!("no usable AWS credentials: {LOGIN}"));
    }
    match &error {
        SdkError::ServiceError(service) => {
            let e = service.err();
            let message = e.message().unwrap_or("(no message)");
            let Some(code) = e.code() else {
                return ToolError::Upstream(format!(
                    "AWS answered an error without a code: {message}"
                ));
            };
            let said = format!("{code}: {message}");
            match kind(code) {
                Kind::Credentials => ToolError::Unauthorized(format!(
                    "AWS rejected the credentials ({said}): {LOGIN}"
                )),
                Kind::Permission => ToolError::Unauthorized(format!(
                    "the credentials may not make this read ({said}): ask for read access \
                     (describe, list, get) on the role, or use another account"
                )),
                Kind::NotFound => ToolError::NotFound(format!(
                    "AWS found nothing ({said}): check the name or id, the account and the region"
                )),
                Kind::Invalid => ToolError::InvalidArguments(format!(
                    "AWS refused the request ({said}): fix the arguments"
                )),
                Kind::Throttled => ToolError::Upstream(format!(
                    "AWS is throttling requests ({said}): retry in a minute, or ask for less"
                )),
                Kind::Other => ToolError::Upstream(format!("AWS answered {said}")),
            }
        }
        SdkError::TimeoutError(_) => ToolError::Upstream(
            "AWS did not answer in time (aws.timeout_secs): retry, or ask for less".to_owned(),
        ),
        SdkError::DispatchFailure(failure) if failure.is_timeout() => ToolError::Upstream(
            "AWS did not answer in time (aws.timeout_secs): retry, or ask for less".to_owned(),
        ),
        SdkError::DispatchFailure(_) => ToolError::Upstream(
            "AWS could not be reached (connection failed): check the network, a proxy, or \
             AWS_ENDPOINT_URL"
                .to_owned(),
        ),
        SdkError::ResponseError(_) => ToolError::Upstream(
            "AWS's answer could not be read (not an AWS response: a proxy in between?)".to_owned(),
        ),
        other => ToolError::Upstream(format!(
            "the AWS request failed: {}",
            DisplayErrorContext(other)
        )),
    }
}

/// [`ToolError::NotFound`] with `message` when the service error is the operation's typed
/// not-found error (`is_not_found`), else [`classify`].
pub fn not_found_or<E, R>(
    error: SdkError<E, R>,
    is_not_found: impl Fn(&E) -> bool,
    message: impl FnOnce() -> String,
) -> ToolError
where
    E: ProvideErrorMetadata + Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    if error.as_service_error().is_some_and(is_not_found) {
        ToolError::NotFound(message())
    } else {
        classify(error)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_eks::{
        error::{ConnectorError, ErrorMetadata},
        operation::describe_cluster::DescribeClusterError,
        types::error::ResourceNotFoundException,
    };

    fn service(code: Option<&str>, message: &str) -> SdkError<DescribeClusterError, ()> {
        let mut meta = ErrorMetadata::builder().message(message);
        if let Some(code) = code {
            meta = meta.code(code);
        }
        SdkError::service_error(DescribeClusterError::generic(meta.build()), ())
    }

    fn variant(e: &ToolError) -> &'static str {
        match e {
            ToolError::InvalidArguments(_) => "invalid",
            ToolError::NotFound(_) => "not found",
            ToolError::Unauthorized(_) => "unauthorized",
            ToolError::Upstream(_) => "upstream",
            ToolError::Unavailable(_) => "unavailable",
            ToolError::Denied(_) => "denied",
            _ => "other",
        }
    }

    /// The code decides; messages written to mislead (they name other codes and "credentials")
    /// change nothing.
    #[test]
    fn errors_are_classified_by_code_and_type_not_message() {
        let cases: Vec<(SdkError<DescribeClusterError, ()>, &str, &str)> = vec![
            (
                service(Some("ExpiredTokenException"), "expired"),
                "unauthorized",
                "aws sso login",
            ),
            (
                service(Some("AccessDeniedException"), "no"),
                "unauthorized",
                "read access",
            ),
            (
                service(
                    Some("ThrottlingException"),
                    "bad credentials, ResourceNotFoundException",
                ),
                "upstream",
                "retry in a minute",
            ),
            (
                service(
                    Some("ValidationException"),
                    "credentials ResourceNotFoundException",
                ),
                "invalid",
                "fix the arguments",
            ),
            (
                service(Some("InvalidInstanceID.NotFound"), "x"),
                "not found",
                "check the name or id",
            ),
            (
                service(Some("ServerException"), "credentials expired"),
                "upstream",
                "AWS answered ServerException",
            ),
            (
                service(None, "ExpiredTokenException credentials"),
                "upstream",
                "without a code",
            ),
            (
                SdkError::dispatch_failure(ConnectorError::other(
                    Box::new(CredentialsError::not_loaded("no provider found")),
                    None,
                )),
                "unauthorized",
                "aws sso login",
            ),
            (
                SdkError::dispatch_failure(ConnectorError::io(Box::new(std::io::Error::other(
                    "credential refused",
                )))),
                "upstream",
                "could not be reached",
            ),
            (
                SdkError::timeout_error(Box::new(std::io::Error::other("credential"))),
                "upstream",
                "in time",
            ),
        ];
        for (error, expected, says) in cases {
            let shown = format!("{error:?}");
            let got = classify(error);
            assert_eq!(variant(&got), expected, "{shown}: {got}");
            assert!(got.to_string().contains(says), "{shown}: {got}");
        }
    }

    #[test]
    fn typed_not_found_only_for_the_typed_variant() {
        let typed: SdkError<DescribeClusterError, ()> = SdkError::service_error(
            DescribeClusterError::ResourceNotFoundException(
                ResourceNotFoundException::builder().message("gone").build(),
            ),
            (),
        );
        let got = not_found_or(
            typed,
            |e| e.is_resource_not_found_exception(),
            || "cluster `x` was not found".into(),
        );
        assert!(
            matches!(&got, ToolError::NotFound(m) if m.contains("cluster `x`")),
            "{got}"
        );
        // A generic error whose message names the exception is not that exception.
        let generic = service(Some("ValidationException"), "ResourceNotFoundException");
        let got = not_found_or(
            generic,
            |e| e.is_resource_not_found_exception(),
            || "cluster `x` was not found".into(),
        );
        assert!(matches!(got, ToolError::InvalidArguments(_)), "{got}");
    }
}
