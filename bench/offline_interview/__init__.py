"""The offline interview, measured with scripted participants (``python -m bench.offline_interview``)."""
