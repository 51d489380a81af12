"""Worked examples for the clinical calculators. Each expected value is the published
formula worked by hand (the arithmetic is in the comment), not the code's own output.

Sources: WHO BMI classification; Inker et al., N Engl J Med 2021;385:1737-49 (CKD-EPI
2021); Cockcroft & Gault, Nephron 1976;16:31-41; Payne et al., BMJ 1973;4:643 (corrected
calcium); Bazett 1920, Fridericia 1920, Sagie et al. 1992 (Framingham), Hodges 1983 (QTc);
Mosteller, N Engl J Med 1987;317:1098 (BSA); ADA Standards of Care (fasting glucose
126 mg/dL = 7.0 mmol/L); NCEP ATP III (triglycerides 150 mg/dL = 1.7 mmol/L; cholesterol
200 mg/dL = 5.2 mmol/L); creatinine 1 mg/dL = 88.4 µmol/L (SI conversion tables).
"""

from __future__ import annotations

import pytest
from nanoflux_medicine import tools

from nanoflux.testing import JudgeToolContract


class ValueContract(JudgeToolContract):
    """The tools report {"value", "unit", ...}; compare the value to a hand-worked number."""

    tolerance = 0.01

    def assert_value(self, value, expected):
        assert value["value"] == pytest.approx(expected, abs=self.tolerance)
        assert value["unit"]


class TestBmi(ValueContract):
    registered_as = "medicine.bmi"

    @pytest.fixture
    def tool(self):
        return tools.bmi

    @pytest.fixture
    def cases(self):
        return [
            ({"weight_kg": 70, "height_m": 1.75}, 22.86),  # 70 / 1.75^2 = 70 / 3.0625
            ({"weight_kg": 95, "height_m": 1.70}, 32.87),  # 95 / 2.89
        ]

    def test_who_classes(self, tool):
        assert tool.call({"weight_kg": 70, "height_m": 1.75}).value["category"] == "normal weight"
        assert tool.call({"weight_kg": 95, "height_m": 1.70}).value["category"] == "obese"
        assert tool.call({"weight_kg": 50, "height_m": 1.75}).value["category"] == "underweight"

    def test_centimetres_are_refused_by_the_schema(self, tool):
        from nanoflux.errors import UsageError

        with pytest.raises(UsageError, match="height_m"):
            tool.call({"weight_kg": 70, "height_m": 175})


class TestEgfr(ValueContract):
    registered_as = "medicine.egfr_ckd_epi_2021"

    tolerance = 0.05

    @pytest.fixture
    def tool(self):
        return tools.egfr

    @pytest.fixture
    def cases(self):
        return [
            # woman, 50 y, Scr 1.0: Scr/0.7 = 1.4286 > 1, so
            # 142 x 1.4286^-1.2 (0.65179) x 0.9938^50 (0.73275) x 1.012 = 68.63
            ({"creatinine_mg_dl": 1.0, "age": 50, "sex": "female"}, 68.63),
            # man, 60 y, Scr 0.8: Scr/0.9 = 0.8889 < 1, so
            # 142 x 0.8889^-0.302 (1.03621) x 0.9938^60 (0.68857) = 101.32
            ({"creatinine_mg_dl": 0.8, "age": 60, "sex": "male"}, 101.32),
            # man, 70 y, Scr 2.0: 142 x (2.0/0.9)^-1.2 (0.38361) x 0.9938^70 (0.64694) = 35.24
            ({"creatinine_mg_dl": 2.0, "age": 70, "sex": "male"}, 35.24),
        ]


class TestCockcroftGault(ValueContract):
    registered_as = "medicine.cockcroft_gault"

    @pytest.fixture
    def tool(self):
        return tools.cockcroft_gault

    @pytest.fixture
    def cases(self):
        return [
            # (140 - 60) x 70 / (72 x 1.0) = 5600 / 72
            ({"age": 60, "weight_kg": 70, "creatinine_mg_dl": 1.0, "sex": "male"}, 77.78),
            # the same woman: x 0.85
            ({"age": 60, "weight_kg": 70, "creatinine_mg_dl": 1.0, "sex": "female"}, 66.11),
        ]


class TestAnionGap(ValueContract):
    registered_as = "medicine.anion_gap"

    @pytest.fixture
    def tool(self):
        return tools.anion_gap

    @pytest.fixture
    def cases(self):
        return [
            ({"sodium": 140, "chloride": 105, "bicarbonate": 24}, 11),  # 140 - 129
            ({"sodium": 140, "chloride": 105, "bicarbonate": 24, "potassium": 4}, 15),
            ({"sodium": 135, "chloride": 100, "bicarbonate": 10}, 25),  # a high-gap acidosis
        ]


class TestCorrectedCalcium(ValueContract):
    registered_as = "medicine.corrected_calcium"

    @pytest.fixture
    def tool(self):
        return tools.corrected_calcium

    @pytest.fixture
    def cases(self):
        return [
            ({"calcium_mg_dl": 7.6, "albumin_g_dl": 2.0}, 9.2),  # 7.6 + 0.8 x 2.0
            ({"calcium_mg_dl": 9.0, "albumin_g_dl": 4.0}, 9.0),  # normal albumin: unchanged
        ]


class TestMap(ValueContract):
    registered_as = "medicine.map"

    @pytest.fixture
    def tool(self):
        return tools.mean_arterial_pressure

    @pytest.fixture
    def cases(self):
        return [({"systolic": 120, "diastolic": 80}, 93.33)]  # 80 + 40 / 3


class TestQtc(ValueContract):
    registered_as = "medicine.qtc"

    @pytest.fixture
    def tool(self):
        return tools.qtc

    @pytest.fixture
    def cases(self):
        return [
            ({"qt_ms": 400, "heart_rate_bpm": 60}, 400),  # RR = 1 s: every formula gives QT
            ({"qt_ms": 400, "heart_rate_bpm": 75}, 447.21),  # RR 0.8: 400 / sqrt(0.8)
            ({"qt_ms": 400, "heart_rate_bpm": 75, "formula": "fridericia"}, 430.89),  # / 0.8^(1/3)
            ({"qt_ms": 400, "heart_rate_bpm": 75, "formula": "framingham"}, 430.8),  # + 154 x 0.2
            ({"qt_ms": 400, "heart_rate_bpm": 75, "formula": "hodges"}, 426.25),  # + 1.75 x 15
        ]


class TestBsa(ValueContract):
    registered_as = "medicine.bsa"

    @pytest.fixture
    def tool(self):
        return tools.bsa

    @pytest.fixture
    def cases(self):
        return [({"height_cm": 180, "weight_kg": 80}, 2.0)]  # sqrt(14400 / 3600) = sqrt(4)


class TestWeightBasedDose(ValueContract):
    registered_as = "medicine.weight_based_dose"

    @pytest.fixture
    def tool(self):
        return tools.weight_based_dose

    @pytest.fixture
    def cases(self):
        return [
            ({"weight_kg": 20, "dose_per_kg": 15}, 300),  # 20 kg x 15 mg/kg
            ({"weight_kg": 20, "dose_per_kg": 15, "max_dose": 250, "doses_per_day": 4}, 250),
        ]

    def test_daily_total_uses_the_capped_dose(self, tool):
        value = tool.call(
            {"weight_kg": 20, "dose_per_kg": 15, "max_dose": 250, "doses_per_day": 4}
        ).value
        assert value["capped"] is True and value["daily"] == 1000


class TestConvert(ValueContract):
    registered_as = "medicine.convert"

    @pytest.fixture
    def tool(self):
        return tools.convert

    @pytest.fixture
    def cases(self):
        return [
            ({"value": 126, "from_unit": "mg/dL", "to_unit": "mmol/L", "analyte": "glucose"}, 6.99),
            (
                {"value": 7.0, "from_unit": "mmol/L", "to_unit": "mg/dL", "analyte": "glucose"},
                126.1,
            ),
            (
                {"value": 1.0, "from_unit": "mg/dL", "to_unit": "µmol/L", "analyte": "creatinine"},
                88.4,
            ),
            (
                {"value": 200, "from_unit": "mg/dL", "to_unit": "mmol/L", "analyte": "cholesterol"},
                5.17,
            ),
            (
                {
                    "value": 150,
                    "from_unit": "mg/dL",
                    "to_unit": "mmol/L",
                    "analyte": "triglycerides",
                },
                1.69,
            ),
        ]

    def test_unknown_unit_and_analyte(self, tool):
        bad = tool.call(
            {"value": 1, "from_unit": "mg/dL", "to_unit": "furlongs", "analyte": "glucose"}
        )
        assert not bad.ok and "furlongs" in bad.error
        bad = tool.call(
            {"value": 1, "from_unit": "mg/dL", "to_unit": "mmol/L", "analyte": "kryptonite"}
        )
        assert not bad.ok and "kryptonite" in bad.error


class TestSafetyScreen(JudgeToolContract):
    registered_as = "medicine.safety_screen"

    @pytest.fixture
    def tool(self):
        return tools.safety_screen

    @pytest.fixture
    def cases(self):
        return [
            ({"text": "Give acetaminophen 1 g every 6 hours."}, True),  # 4 g/day is the maximum
            ({"text": "Take paracetamol 6 g at once."}, False),  # above 4 g/day
            ({"text": "You can stop taking your insulin."}, False),
            ({"text": "Give potassium chloride by IV push."}, False),
            ({"text": "Ibuprofen 400 mg with food."}, True),
        ]

    def assert_value(self, value, expected):
        assert value["safe"] is expected, value


@pytest.mark.parametrize(
    ("value", "source", "target", "expected"),
    [
        (5, "ft", "m", 1.524),
        (64, "in", "cm", 162.56),
        # a trial's drafts named them: convert(5, 'feet', 'm')
        (6, "Inches", "m", 0.1524),
        (2, "feet", "centimeters", 60.96),
        (2500, "grams", "kg", 2.5),
    ],
)
def test_a_body_measure_converts_without_an_analyte(value, source, target, expected):
    # a trial's drafts called convert(185, 'lb', 'kg', analyte='weight'), which failed
    from nanoflux_medicine.calculators import convert

    assert convert(value, source, target) == pytest.approx(expected, abs=1e-3)
    assert convert(value, source, target, analyte="weight") == pytest.approx(expected, abs=1e-3)
    with pytest.raises(ValueError, match="unknown unit"):
        convert(value, source, "mmol/L", analyte="glucose")  # a length is no concentration
    with pytest.raises(ValueError, match="a weight converts to a weight, a length to a length"):
        convert(value, source, "kg" if source != "grams" else "cm")


@pytest.mark.parametrize("pounds", ["lb", "lbs", "Pounds"])
def test_pounds_convert_by_the_factor_the_problem_states(pounds):
    # 180 lb at 5 ft 3 in is a BMI of 31.9 at 0.4536 kg a pound and 32.0 at 1/2.2
    from nanoflux_medicine.calculators import convert

    for source, target in ((pounds, "kg"), ("kg", pounds)):
        with pytest.raises(ValueError, match="pounds convert by the factor the problem states"):
            convert(180, source, target)
