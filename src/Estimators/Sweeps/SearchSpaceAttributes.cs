namespace Pipelines;

/// <summary>
/// A numeric parameter searched between min and max (inclusive), on a log scale when
/// <c>logBase</c> is true (learning rates); on an int property values are rounded. The
/// constructors are those of Microsoft.ML.SearchSpace's RangeAttribute (AutoML), so a parameter
/// class written for this sweep moves to AutoML unchanged: <c>[Range(1e-4, 1e-2, init: 1e-3, logBase: true)]</c>.
/// </summary>
[AttributeUsage(AttributeTargets.Property, Inherited = false, AllowMultiple = false)]
public sealed class RangeAttribute : Attribute
{
    /// <summary>A range of doubles.</summary>
    public RangeAttribute(double min, double max, bool logBase = false) : this(min, max, null, logBase) { }

    /// <summary>A range of doubles with the value a sweep starts from.</summary>
    public RangeAttribute(double min, double max, double init, bool logBase = false) : this(min, max, (double?)init, logBase) { }

    /// <summary>A range of ints.</summary>
    public RangeAttribute(int min, int max, bool logBase = false) : this(min, max, null, logBase) { }

    /// <summary>A range of ints with the value a sweep starts from.</summary>
    public RangeAttribute(int min, int max, int init, bool logBase = false) : this(min, max, (double?)init, logBase) { }

    /// <summary>A range of floats.</summary>
    public RangeAttribute(float min, float max, bool logBase = false) : this(min, max, null, logBase) { }

    /// <summary>A range of floats with the value a sweep starts from.</summary>
    public RangeAttribute(float min, float max, float init, bool logBase = false) : this(min, max, (double?)init, logBase) { }

    private RangeAttribute(double min, double max, double? init, bool logBase) => (Min, Max, Init, LogBase) = (min, max, init, logBase);

    /// <summary>Lowest value.</summary>
    public double Min { get; }
    /// <summary>Highest value.</summary>
    public double Max { get; }
    /// <summary>The value a sweep's default trial uses; null keeps the property's own initial value.</summary>
    public double? Init { get; }
    /// <summary>Sample and space grid points uniformly in log(value).</summary>
    public bool LogBase { get; }
}

/// <summary>
/// A parameter searched over the listed values. The constructors are those of
/// Microsoft.ML.SearchSpace's ChoiceAttribute (AutoML): <c>[Choice(4, 8, 16)]</c> or
/// <c>[Choice(new object[] { 4, 8, 16 }, 8)]</c> with the default trial's value.
/// </summary>
[AttributeUsage(AttributeTargets.Property, Inherited = false, AllowMultiple = false)]
public sealed class ChoiceAttribute : Attribute
{
    /// <summary>The candidates.</summary>
    public ChoiceAttribute(params object[] candidates) => Candidates = candidates;

    /// <summary>The candidates and the value a sweep's default trial uses.</summary>
    public ChoiceAttribute(object[] candidates, object defaultValue) => (Candidates, DefaultValue) = (candidates, defaultValue);

    /// <summary>The values, converted to the property's type.</summary>
    public IReadOnlyList<object> Candidates { get; }
    /// <summary>The value a sweep's default trial uses; null keeps the property's own initial value.</summary>
    public object? DefaultValue { get; }
}
