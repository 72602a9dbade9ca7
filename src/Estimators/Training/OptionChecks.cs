namespace Pipelines;

/// <summary>
/// How every option of this library is refused: <see cref="ArgumentOutOfRangeException"/> with the
/// option's name as the parameter, the rule in the message and the value as the actual value
/// ("BatchSize must be positive. (Parameter 'BatchSize') Actual value was 0.").
/// </summary>
internal static class OptionChecks
{
    public static void Require(bool ok, string option, object? value, string rule)
    {
        if (!ok) throw new ArgumentOutOfRangeException(option, value, $"{option} {rule}.");
    }

    /// <summary>The architecture options a trainer building a model from scratch takes.</summary>
    public static void Architecture(int layers, int hidden, int heads, int feedForward = 0)
    {
        Require(layers > 0, "Layers", layers, "must be positive");
        Require(hidden > 0, "Hidden", hidden, "must be positive");
        Require(heads >= 0, "Heads", heads, "must not be negative (0: Hidden / 64)");
        Require(feedForward >= 0, "FeedForward", feedForward, "must not be negative (0: 4 x Hidden)");
    }
}
