using static TorchSharp.torch;

namespace Pipelines;

/// <summary>Rows of token ids to the padded (B, T) tensors a model takes.</summary>
internal static class TokenBatch
{
    /// <summary>
    /// Ids (B, T) right-padded with <paramref name="padId"/> to the longest row, and the attention
    /// mask (B, T), 1 for real tokens; the mask is null when no row is padded, as for one row.
    /// </summary>
    public static (Tensor Ids, Tensor? Mask) Pad(IReadOnlyList<int[]> rows, long padId, Device device)
    {
        var longest = rows.Max(r => r.Length);
        var ids = new long[rows.Count * longest];
        var mask = new long[rows.Count * longest];
        for (var b = 0; b < rows.Count; b++)
            for (var t = 0; t < longest; t++)
                (ids[b * longest + t], mask[b * longest + t]) = t < rows[b].Length ? (rows[b][t], 1L) : (padId, 0L);
        var padded = rows.Any(r => r.Length < longest);
        return (tensor(ids, [rows.Count, longest]).to(device), padded ? tensor(mask, [rows.Count, longest]).to(device) : null);
    }

    /// <summary>The first <paramref name="maxLength"/> ids of each row.</summary>
    public static int[] Cut(int[] ids, int maxLength) => ids.Length <= maxLength ? ids : ids[..maxLength];

    /// <summary>Each row's values from a (B, ...) float tensor, as arrays.</summary>
    public static float[][] Rows(Tensor values)
    {
        var flat = values.to(ScalarType.Float32).cpu().contiguous().data<float>().ToArray();
        var width = flat.Length / (int)values.shape[0];
        return Enumerable.Range(0, (int)values.shape[0]).Select(b => flat.AsSpan(b * width, width).ToArray()).ToArray();
    }
}
