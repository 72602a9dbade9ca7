namespace Pipelines.Models.Training;

/// <summary>
/// Batches drawn epoch by epoch: each epoch visits every row once in an order shuffled from
/// (seed, epoch), so draw d always gets the same rows, also after a resume.
/// </summary>
public sealed class EpochBatches(int rows, int batchSize, int seed)
{
    /// <summary>Rows per batch (at most the row count).</summary>
    public int BatchSize { get; } = Math.Min(batchSize, rows);

    /// <summary>Batches per epoch (the last may be short).</summary>
    public int PerEpoch => (rows + BatchSize - 1) / BatchSize;

    /// <summary>Row indices of draw <paramref name="draw"/> (counting from 0 over all epochs).</summary>
    public int[] Draw(long draw)
    {
        var epoch = (int)(draw / PerEpoch);
        var order = Enumerable.Range(0, rows).ToArray();
        Seeding.Derived(seed, epoch).Shuffle(order);
        var start = (int)(draw % PerEpoch) * BatchSize;
        return order.Skip(start).Take(BatchSize).ToArray();
    }
}
