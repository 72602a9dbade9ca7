using TorchSharp;
using static TorchSharp.torch;

namespace Pipelines.Models;

/// <summary>
/// The check at the door of every embedding table: a token id outside the vocabulary would
/// otherwise end in libtorch's index error (or, on CUDA, a device-side assert that poisons the
/// process). The usual cause is a token column made by another tokenizer than the model's.
/// Training tasks check their rows once on the host when they are built (<see cref="CheckRows(IEnumerable{int[]}, long)"/>),
/// so that a model training on an accelerator need not read the ids' range back from the device
/// at every micro-batch; everywhere else the forward pass checks the tensor itself.
/// </summary>
internal static class TokenIds
{
    /// <summary>Checks the ids a forward pass receives, unless they are a training batch on an accelerator (checked on the host).</summary>
    /// <exception cref="ArgumentOutOfRangeException">An id of <paramref name="ids"/> is negative or not below <paramref name="vocabularySize"/>.</exception>
    public static void Check(Tensor ids, long vocabularySize, bool training)
    {
        if (ids.numel() == 0 || training && ids.device_type != DeviceType.CPU) return;
        using var scope = NewDisposeScope();
        var (min, max) = (ids.min().item<long>(), ids.max().item<long>());
        if (min < 0 || max >= vocabularySize) throw OutOfRange(min < 0 ? min : max, vocabularySize, nameof(ids));
    }

    /// <summary>Checks a training task's rows on the host, once, before its first step.</summary>
    /// <exception cref="ArgumentOutOfRangeException">An id is negative or not below <paramref name="vocabularySize"/>.</exception>
    public static void CheckRows(IEnumerable<int[]> rows, long vocabularySize)
    {
        foreach (var row in rows)
            foreach (var id in row)
                if ((ulong)(long)id >= (ulong)vocabularySize) throw OutOfRange(id, vocabularySize, nameof(rows));
    }

    /// <inheritdoc cref="CheckRows(IEnumerable{int[]}, long)"/>
    public static void CheckRows(long[] stream, long vocabularySize)
    {
        foreach (var id in stream)
            if ((ulong)id >= (ulong)vocabularySize) throw OutOfRange(id, vocabularySize, nameof(stream));
    }

    private static ArgumentOutOfRangeException OutOfRange(long id, long vocabularySize, string parameter) =>
        new(parameter, $"Token id {id} is outside the model's vocabulary of {vocabularySize} ids: " +
                       "the tokens were made by another tokenizer than the one the model was trained with.");
}
