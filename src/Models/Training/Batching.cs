using static TorchSharp.torch;

namespace Pipelines.Models.Training;

/// <summary>Pads variable-length token sequences into (B, T) tensors with an attention mask.</summary>
public static class Batching
{
    /// <summary>
    /// Right-pads <paramref name="rows"/> with <paramref name="padId"/> to the longest row (at most
    /// <paramref name="maxLength"/>; longer rows are cut). Returns ids (B, T) and a mask (B, T) of 1 for
    /// real tokens, 0 for padding, both Int64 on <paramref name="device"/>.
    /// </summary>
    public static (Tensor Ids, Tensor Mask) Pad(IReadOnlyList<int[]> rows, int padId, int maxLength, Device device)
    {
        var length = Math.Max(1, Math.Min(maxLength, rows.Max(r => r.Length)));
        var ids = new long[rows.Count * length];
        var mask = new long[rows.Count * length];
        for (var r = 0; r < rows.Count; r++)
        {
            var row = rows[r];
            var n = Math.Min(length, row.Length);
            for (var t = 0; t < length; t++)
            {
                ids[r * length + t] = t < n ? row[t] : padId;
                mask[r * length + t] = t < n ? 1 : 0;
            }
        }
        return (tensor(ids, [rows.Count, length]).to(device), tensor(mask, [rows.Count, length]).to(device));
    }

    /// <summary>
    /// As <see cref="Pad"/>, plus the segment ids (B, T) padded with 0 when any row has them (a row
    /// without any is all segment 0), else null.
    /// </summary>
    public static (Tensor Ids, Tensor Mask, Tensor? Segments) PadPairs(IReadOnlyList<int[]> ids, IReadOnlyList<int[]?> segments, int padId,
        int maxLength, Device device)
    {
        var (padded, mask) = Pad(ids, padId, maxLength, device);
        var segmentIds = segments.Any(s => s is not null)
            ? Pad(ids.Select((row, i) => segments[i] ?? new int[row.Length]).ToList(), 0, maxLength, device).Ids
            : null;
        return (padded, mask, segmentIds);
    }

    /// <summary>
    /// The flat indices into (B x <paramref name="length"/>) of the labels that are not
    /// <see cref="Heads.IgnoreIndex"/>, in row order: the positions <see cref="PadLabels"/>' tensor labels.
    /// </summary>
    public static long[] LabelledPositions(IReadOnlyList<int[]> rows, long length)
    {
        var positions = new List<long>();
        for (var r = 0; r < rows.Count; r++)
            for (var t = 0; t < Math.Min(length, rows[r].Length); t++)
                if (rows[r][t] != Heads.IgnoreIndex) positions.Add(r * length + t);
        return positions.ToArray();
    }

    /// <summary>Right-pads label rows with <see cref="Heads.IgnoreIndex"/> to <paramref name="length"/>, as an Int64 tensor (B, T).</summary>
    public static Tensor PadLabels(IReadOnlyList<int[]> rows, long length, Device device)
    {
        var labels = new long[rows.Count * length];
        for (var r = 0; r < rows.Count; r++)
            for (var t = 0; t < length; t++)
                labels[r * length + t] = t < rows[r].Length ? rows[r][t] : Heads.IgnoreIndex;
        return tensor(labels, [rows.Count, length]).to(device);
    }
}
