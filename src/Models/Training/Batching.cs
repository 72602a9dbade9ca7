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
