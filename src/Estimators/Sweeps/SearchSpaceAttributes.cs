namespace Pipelines;

/// <summary>
/// A numeric parameter searched between <paramref name="min"/> and <paramref name="max"/>
/// (inclusive), on a log scale when <see cref="LogScale"/> is set (learning rates). On an int
/// property values are rounded. Mirrors AutoML's SearchSpace RangeAttribute.
/// </summary>
[AttributeUsage(AttributeTargets.Property)]
public sealed class RangeAttribute(double min, double max) : Attribute
{
    /// <summary>Lowest value.</summary>
    public double Min { get; } = min;
    /// <summary>Highest value.</summary>
    public double Max { get; } = max;
    /// <summary>Sample and space grid points uniformly in log(value).</summary>
    public bool LogScale { get; set; }
}

/// <summary>A parameter searched over the listed values. Mirrors AutoML's SearchSpace ChoiceAttribute.</summary>
[AttributeUsage(AttributeTargets.Property)]
public sealed class ChoiceAttribute(params object[] values) : Attribute
{
    /// <summary>The values, converted to the property's type.</summary>
    public IReadOnlyList<object> Values { get; } = values;
}
