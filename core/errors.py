"""Named errors of the library. Front ends (pages, CLI, API) translate them
into messages a clinician understands; nothing in core prints or exits."""


class CoreError(Exception):
    """Base of every error the library raises on purpose."""


class ConfigError(CoreError):
    """Settings are invalid or point at something that does not exist."""


class StorageError(CoreError):
    """The database refused a write or read (full disk, read-only file, lock)."""


class DatabaseKeyError(StorageError):
    """The database cannot be decrypted: wrong key, a plain file opened with a key, or an encrypted one without."""


class WeakDatabaseKey(ConfigError):
    """The database key is a placeholder or too short to resist guessing."""


class NotFound(CoreError):
    """A record that was asked for does not exist."""


class PatientNotFound(NotFound):
    """No patient with that id."""


class VisitNotFound(NotFound):
    """No visit with that id."""


class AnalysisNotFound(NotFound):
    """No analysis with that id."""


class ValidationError(CoreError):
    """Input does not meet the rules (empty text, impossible date, bad value)."""


class UploadRejected(ValidationError):
    """An uploaded file was refused (size, type, encoding, zip bomb, corrupt)."""


class DataError(ValidationError):
    """A training or batch data file is malformed (names row and column)."""


class ConsentRequired(CoreError):
    """The patient has not consented to ML analysis."""


class SignedImmutable(CoreError):
    """A signed output cannot be changed."""


class AuthError(CoreError):
    """Login failed (wrong user or password)."""


class AccountLocked(AuthError):
    """Too many failed logins; the account is locked for a while."""


class SessionExpired(AuthError):
    """The session timed out or was logged out."""


class PermissionDenied(CoreError):
    """The caller's role may not do this."""


class ModelUnavailable(CoreError):
    """A model or checkpoint is not installed or could not be loaded."""


class NoTrainedHeads(ModelUnavailable):
    """No trained heads checkpoint is installed; scores would be meaningless."""


class ReaderUnavailable(ModelUnavailable):
    """No reasoning reader (answer parser's second reader) at the configured path, or it is damaged."""


class NoReaderForTask(ValidationError):
    """The reasoning reader has no classifier for this task."""


class AdapterMismatch(ModelUnavailable):
    """A LoRA adapter was trained for a different base model."""


class QuantizationUnavailable(ModelUnavailable):
    """4/8-bit quantization was asked for where it cannot run (no CUDA)."""


class ModelOutOfMemory(ModelUnavailable):
    """The model did not fit in memory on the chosen device."""


class InferenceError(CoreError):
    """A model run failed; nothing was stored."""


class ItemLocked(CoreError):
    """A review item is locked by another reviewer."""


class AuditTampered(CoreError):
    """The audit hash chain does not verify."""


class DatabaseInUse(StorageError):
    """The database is open elsewhere (the app, a worker), so it cannot be replaced now."""


class RateLimited(AuthError):
    """Too many attempts in a short time; ``retry_after`` says how many seconds to wait."""

    def __init__(self, message: str, retry_after: int = 60):
        super().__init__(message)
        self.retry_after = int(retry_after)


class RemoteUnsupported(InferenceError):
    """The feature needs the in-process model, and settings point at a remote model server."""


class TaskHeadsUnavailable(ModelUnavailable):
    """No usable IMHI task heads (none trained, or the folder cannot be read)."""


class TaskHeadsBackboneMismatch(TaskHeadsUnavailable):
    """The task heads were trained on another encoder backbone than the one loaded."""


class CorruptCheckpoint(TaskHeadsUnavailable):
    """A task-heads checkpoint is damaged (unreadable, wrong shapes, or its weights do not match their hash)."""


class EmptyNote(ValidationError):
    """A note with no words in it cannot be labelled."""


class JobNotFound(NotFound):
    """No background job with that id."""
