"""Callbacks: objects the trainer calls during ``fit``, ``evaluate`` and
``predict`` (Keras 3 API).

Example:
    >>> from polykeras import callbacks
    >>> model.fit(x, y, epochs=100, validation_split=0.2, callbacks=[
    ...     callbacks.EarlyStopping(patience=5, restore_best_weights=True),
    ...     callbacks.ModelCheckpoint("best.keras", save_best_only=True),
    ...     callbacks.CSVLogger("training.csv"),
    ... ])
"""

from polykeras.callbacks.backup_and_restore import BackupAndRestore, consume_resume_epoch
from polykeras.callbacks.callback import Callback
from polykeras.callbacks.callback_list import CallbackList
from polykeras.callbacks.csv_logger import CSVLogger
from polykeras.callbacks.early_stopping import EarlyStopping
from polykeras.callbacks.history import History
from polykeras.callbacks.lambda_callback import LambdaCallback
from polykeras.callbacks.learning_rate_scheduler import LearningRateScheduler
from polykeras.callbacks.model_checkpoint import ModelCheckpoint
from polykeras.callbacks.monitor_callback import MonitorCallback
from polykeras.callbacks.orbax_checkpoint import OrbaxCheckpoint
from polykeras.callbacks.progbar_logger import ProgbarLogger
from polykeras.callbacks.reduce_lr_on_plateau import ReduceLROnPlateau
from polykeras.callbacks.remote_monitor import RemoteMonitor
from polykeras.callbacks.swap_ema_weights import SwapEMAWeights
from polykeras.callbacks.tensorboard import TensorBoard
from polykeras.callbacks.terminate_on_nan import InvalidLossError, TerminateOnNaN

__all__ = [
    "BackupAndRestore",
    "CSVLogger",
    "Callback",
    "CallbackList",
    "EarlyStopping",
    "History",
    "InvalidLossError",
    "LambdaCallback",
    "LearningRateScheduler",
    "ModelCheckpoint",
    "MonitorCallback",
    "OrbaxCheckpoint",
    "ProgbarLogger",
    "ReduceLROnPlateau",
    "RemoteMonitor",
    "SwapEMAWeights",
    "TensorBoard",
    "TerminateOnNaN",
    "consume_resume_epoch",
]
