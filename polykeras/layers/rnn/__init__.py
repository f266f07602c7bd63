"""Recurrent layers: cells (``SimpleRNNCell``, ``LSTMCell``, ``GRUCell``,
``StackedRNNCells``), the ``RNN`` layer that runs a cell over time, the
ready-made ``SimpleRNN``/``LSTM``/``GRU``, ``ConvLSTM1D``/``2D``/``3D`` and
``Bidirectional``.

Example:
    >>> from polykeras import layers
    >>> model = polykeras.Sequential([polykeras.Input((None, 8)), layers.LSTM(16), layers.Dense(1)])
"""

from polykeras.layers.rnn.bidirectional import Bidirectional
from polykeras.layers.rnn.conv_lstm import ConvLSTM1D, ConvLSTM2D, ConvLSTM3D, ConvLSTMCell
from polykeras.layers.rnn.dropout_cell import DropoutRNNCell
from polykeras.layers.rnn.gru import GRU, GRUCell
from polykeras.layers.rnn.lstm import LSTM, LSTMCell
from polykeras.layers.rnn.rnn import RNN
from polykeras.layers.rnn.simple_rnn import SimpleRNN, SimpleRNNCell
from polykeras.layers.rnn.stacked_cells import StackedRNNCells

__all__ = [
    "Bidirectional", "ConvLSTM1D", "ConvLSTM2D", "ConvLSTM3D", "ConvLSTMCell", "DropoutRNNCell", "GRU", "GRUCell",
    "LSTM", "LSTMCell", "RNN", "SimpleRNN", "SimpleRNNCell", "StackedRNNCells",
]
