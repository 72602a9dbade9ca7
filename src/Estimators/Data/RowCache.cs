using Microsoft.ML;

namespace Pipelines;

/// <summary>
/// Computes a row's value once per row position, so that several output columns computed by one
/// model pass (e.g. an embedding and a perplexity) share that pass.
/// </summary>
internal sealed class RowCache<T>(DataViewRow row, Func<T> compute)
{
    private long _position = -1;
    private T _value = default!;

    public T Get()
    {
        if (_position != row.Position)
        {
            _value = compute();
            _position = row.Position;
        }
        return _value;
    }
}
