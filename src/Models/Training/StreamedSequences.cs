namespace Pipelines.Models.Training;

/// <summary>One training sequence read from a stream: its token ids and, for whole-word masking, their word ids.</summary>
public readonly record struct StreamedSequence(int[] Ids, int[]? WordIds = null);

/// <summary>
/// Training sequences drawn from a source read front to back, epoch after epoch, through a bounded
/// shuffle buffer (as tf.data's and Hugging Face's streamed datasets do): memory holds the buffer, never
/// the corpus. Each epoch opens the source again and shuffles with its own seeded generator, so the
/// sequence of draws is a function of the seed and the source alone. A draw number earlier than the next
/// one rewinds to the start and a later one skips ahead by reading, which is how a resumed run finds its
/// place: its checkpoint's step is the stream position. The source is read ahead on a background
/// thread (at most another buffer's worth), so that reading and tokenizing overlap training.
/// </summary>
public sealed class StreamedSequences : IDisposable
{
    private readonly Func<IEnumerable<StreamedSequence>> _open;
    private readonly int _bufferSize, _seed;
    private readonly List<StreamedSequence> _buffer = [];
    private IEnumerator<StreamedSequence>? _rows;
    private Random _shuffle = new(0);
    private int _epoch;
    private long _next, _readThisEpoch, _perEpoch;

    /// <param name="open">Opens the source: every sequence, in the source's order; called once per epoch.</param>
    /// <param name="bufferSize">Sequences held for shuffling (the memory bound).</param>
    /// <param name="seed">Seed of the shuffles.</param>
    public StreamedSequences(Func<IEnumerable<StreamedSequence>> open, int bufferSize, int seed)
    {
        ArgumentNullException.ThrowIfNull(open);
        ArgumentOutOfRangeException.ThrowIfLessThan(bufferSize, 1);
        (_open, _bufferSize, _seed) = (open, bufferSize, seed);
    }

    /// <summary>The buffer's capacity in sequences.</summary>
    public int BufferSize => _bufferSize;

    /// <summary>Sequences per epoch once an epoch has been read through; before, unknown: <see cref="long.MaxValue"/> (epochs then report as 0).</summary>
    public long SequencesPerEpoch => _perEpoch > 0 ? _perEpoch : long.MaxValue;

    /// <summary>The epoch the next sequence comes from (0, 1, ...).</summary>
    public int Epoch => _epoch;

    /// <summary>
    /// Draw number <paramref name="draw"/> (0, 1, 2 ...): <paramref name="count"/> sequences. Draws are
    /// meant to come in order; another number rewinds or skips ahead, reading, so that the result is
    /// the same as in an uninterrupted run that drew <paramref name="count"/> at a time.
    /// </summary>
    /// <exception cref="InvalidOperationException">The source holds no sequence.</exception>
    public IReadOnlyList<StreamedSequence> Draw(long draw, int count)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(draw);
        if (_rows is null || draw < _next) Restart();
        for (; _next < draw; _next++)
            for (var i = 0; i < count; i++) Take();
        _next++;
        var drawn = new StreamedSequence[count];
        for (var i = 0; i < count; i++) drawn[i] = Take();
        return drawn;
    }

    private void Restart()
    {
        (_epoch, _next, _perEpoch) = (0, 0, 0);
        Open();
    }

    private void Open()
    {
        _rows?.Dispose();
        _buffer.Clear();
        // The source is read on a background thread, up to a buffer's worth ahead.
        _rows = Prefetch.Ahead(_open, _bufferSize).GetEnumerator();
        _shuffle = Seeding.Derived(_seed, _epoch);
        _readThisEpoch = 0;
    }

    // Tops the buffer up and hands out one of its sequences at random; an exhausted source and an
    // empty buffer end the epoch.
    private StreamedSequence Take()
    {
        Fill();
        if (_buffer.Count == 0)
        {
            if (_readThisEpoch == 0) throw new InvalidOperationException("The training stream holds no sequence: nothing to train on.");
            _perEpoch = _readThisEpoch;
            _epoch++;
            Open();
            Fill();
            if (_buffer.Count == 0) throw new InvalidOperationException("The training stream held sequences in one epoch and none in the next: the source must read the same each time.");
        }
        var i = _shuffle.Next(_buffer.Count);
        var taken = _buffer[i];
        _buffer[i] = _buffer[^1];
        _buffer.RemoveAt(_buffer.Count - 1);
        return taken;
    }

    private void Fill()
    {
        while (_buffer.Count < _bufferSize && _rows!.MoveNext())
        {
            _buffer.Add(_rows.Current);
            _readThisEpoch++;
        }
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        _rows?.Dispose();
        _rows = null;
        _buffer.Clear();
    }
}
