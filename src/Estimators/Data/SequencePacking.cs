namespace Pipelines;

/// <summary>Joins token sequences into one stream for language-model pretraining.</summary>
internal static class SequencePacking
{
    /// <summary>The rows one after another, each followed by <paramref name="separator"/>.</summary>
    public static long[] Concatenate(IReadOnlyList<int[]> rows, int separator)
    {
        var stream = new long[rows.Sum(r => (long)r.Length + 1)];
        var at = 0;
        foreach (var row in rows)
        {
            foreach (var id in row) stream[at++] = id;
            stream[at++] = separator;
        }
        return stream;
    }

}
