-- Removals made before departures were kept, taken from the audit trail, for people not back
-- on the team: their devices remove those cases too at next contact.
INSERT OR IGNORE INTO departures (case_id, professional_id, left_at)
SELECT case_id, subject_professional_id, MAX(at)
FROM audit
WHERE event = 'member_removed'
  AND outcome IN ('success', 'consent_withdrawn')
  AND case_id IS NOT NULL
  AND subject_professional_id IS NOT NULL
  AND subject_professional_id IN (SELECT id FROM professionals)
  AND NOT EXISTS (
      SELECT 1 FROM case_members m
      WHERE m.case_id = audit.case_id AND m.professional_id = audit.subject_professional_id
  )
GROUP BY case_id, subject_professional_id;
