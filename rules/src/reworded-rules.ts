/**
 * Rules of the shipped profiles whose words alone changed on 2026-12-06 (Chinese twins, clears in words, names of
 * guards and expectations), when fingerprints still held the words: the digest a gateway saved for each (of its whole
 * definition then) and the fingerprint digest of what it judges now. A state saved before that upgrade is that of
 * the same rule: it is restored, its open alarms kept. Generated from the profiles of 7fb11c7 and of this commit; a rule
 * whose judgement changed since is not here and starts afresh, as any changed rule does.
 */
export const REWORDED: ReadonlyMap<string, string> = new Map([
  ['II9FDgZiqthbzyx4UsxsE2', '0Ojb7CKDlKVNBTEBDrD17E'], // confined-space/o2_low
  ['QBbPUAQSHatjcPNIMOSWDZ', 'MuIcT7RJnEjd4tEzJ4x0-9'], // confined-space/o2_high
  ['vqVSF3deV8G8RotDk0TKUQ', 'Il7yATYG9fbavtSBlkOGww'], // confined-space/o2_sensor_fault
  ['QOcivhFnR-n1DnMGR67p0h', '-PNlA7oYPd90xyauSE67rY'], // confined-space/lel_over_range
  ['p0RVny52HoovkQ-73duyax', 'LQs6NbRIm7T5uOpDSQq7xK'], // confined-space/co_stel
  ['8kergvMQ_rYKAqbg-Edcf_', 'Gi_9pYR9j5GtJfNpkROfuV'], // confined-space/co_twa
  ['uKMOfFdYhYBU7N_WzhXoij', '_PpQmXfmHNIDQwov2dd18D'], // confined-space/ventilation_stopped
  ['LWXQriLRU1ylBffvv8ChH_', 'km15kgH3sjob7ZgkUa6V54'], // confined-space/silent_during_permit
  ['C5U5zGBQYZWc4-3Fd5X3Ih', 'ZhT4ZTPvHOYIpDJGg1j23G'], // deep-well-casting/cooling_pressure_low
  ['hbpJ1bPw31e8eGghqf4P3u', '1lkel6SyDifljTIQvzbP_p'], // deep-well-casting/cooling_pressure_falling
  ['_z5LuSKjOmuVjCwJ0Xzyt8', 'PuohUfJ72ptWj0uC3UlK2D'], // deep-well-casting/cooling_flow_low
  ['_a8xLDNAsf9R51jziiy4EJ', 'Hy2yYV96Iou4seZj67IllI'], // deep-well-casting/cooling_flow_drop
  ['f30nkuJCgZHoDoP6qVLC26', 'MTaipVn6rZHJdmW7uTBXOb'], // deep-well-casting/cooling_temp_high
  ['dyEMyhEDlLF2FDd3FXbkCc', 'qWcbjkOnUhlDYj5k2kCYux'], // deep-well-casting/launder_level_off
  ['fkqxIuQiYgOHDH2_0InVP1', 'lG6LstTaRJbYTVJKffwkzP'], // deep-well-casting/launder_level_rising
  ['FzOo0DlCciX3KHSmFK9OQt', 'BjovcDKIIV57ZEQ7raPERy'], // deep-well-casting/launder_level_falling
  ['f3j65WeDSaG_XNU0x2dFPU', 'ekBOLC0mEifHuREsS01rcI'], // deep-well-casting/mould_inlet_level_off
  ['mcZ4suSsvkBoj4jqRg9Xp6', 'TTCfot5uUT-7klrHK3DAHq'], // deep-well-casting/mould_inlet_level_rising
  ['aT9rq5xWB3iaBlK47ZEB1s', 'CjLMFmXUfN7GvXWkr5lMfL'], // deep-well-casting/mould_inlet_level_falling
  ['-VnLT8ox_v_Gq9urX-7gET', 'bKfm5Xhk4Jh4I7yNirlRuJ'], // deep-well-casting/metal_temp_low
  ['U0EZbWwNlbLcK_ElhEeQd8', 'zv82OETrztfvAlwKlSrwLa'], // deep-well-casting/metal_temp_high
  ['DTSUyZKJWHvzVpPpCw1VoO', 'KZpOdIOanDL1ezMFISaxc7'], // deep-well-casting/interlock_failure
  ['9bLV6yLKBkisPcexd7yhke', 'ZPsaKfnS8hSnJh-SrvmiMw'], // deep-well-casting/interlock_acted
  ['ILkVJ7AtBTAv7TCT8ksoTN', '4U0hjJf7ajIYHzTkRJme0Q'], // deep-well-casting/quick_shutoff_fault
  ['9teaI_8d7pDf4vBIfURmLG', 'RrmMUcyJSvjDYP1XepwcGi'], // deep-well-casting/emergency_drain_fault
  ['4DGctYTJlSm5P4paFTdips', '-sWGKbjONSKaGrXtAjeagJ'], // deep-well-casting/launder_disconnect_fault
  ['4fRuV_rlQA-KKJ0ikF8MdS', 'aKTrLjNFZZjER9WUi5CGV_'], // deep-well-casting/casting_not_permitted
  ['1Nzu6a431tJGAVZeFU8ycM', 'PWiXgcVBWxEmdIkhg1SD0O'], // deep-well-casting/casting_bypass
  ['8ua3Kz3O1lvnWGOfUWSJ3n', 'OXnc17VRTQy2rjUp1I0reh'], // deep-well-casting/pit_water_high
  ['RX6kBSZlMwpGFheUczuu-m', 'GSbP2SzccJrcBaWq6pqrml'], // deep-well-casting/emergency_water_low
  ['7NaIKYXUsjEULcIa0_Nq9Y', 'Z4ysghGdJrkjAW1l5xX5He'], // deep-well-casting/silent_during_cast
  ['QGYtoPmb7Fwl3aQlf-PPvs', 'YaIb-WBpGtk100FcykFMtS'], // dust-collector/diff_pressure_low
  ['E0sRWEs_VRar9k00ocUxtR', 'eNvM_IV7yE5ZnsgXQgLiC9'], // dust-collector/rotary_valve_fault
  ['7dCEfLJPwu8Clb2bQ6DQlJ', 'TSe2fn0num8LMSDqOZDrwq'], // dust-collector/rotary_valve_stopped
  ['25RumybLL9VyjxF_tbov9i', 'H7f7RTzd3_yHZmnTAilA9s'], // dust-collector/fan_stopped_while_process
  ['NRWoYHgeWKRoinzYEq3Hbt', 'RPw_wb6Swmie06BwpAzAQS'], // dust-collector/duct_velocity_low
  ['PWreLq31-OfqGrW-h_bymk', 'HG8S1iYxwBbF-6CnpXMZjN'], // dust-collector/spark_detected
  ['sXBbMcpsVic0k_curil37I', '59qFvYN87Gnl1kTxLEybTM'], // dust-collector/spark_burst
  ['dqumkCCxi7Rp0_95GCaCDo', 'ikYxckup30IEcAwMPk_4gX'], // dust-collector/vent_burst
  ['ssFqSN3g1DbX7HFRal2qqb', 'PBmnMCgWvT0SEdMfXGq01y'], // dust-collector/isolation_valve_triggered
  ['M4iK1fdK_SalIIeMgIMYxy', 'bfbwJSoNyWV7AW3SYyvnlb'], // dust-collector/isolation_valve_fault
  ['qYXbxOLaT1sW1ti6AtJZaH', 'DK5IvGI7V8Brw4z2CFFnbi'], // dust-collector/suppression_fired
  ['ZTqjotja-oG7jev1QgcwOK', 'Wg761u035Bz-44wPgiUMVn'], // dust-collector/suppression_fault
  ['11g_YcipfuzbwFlijE-0bQ', '21zda8DNBPwCh4Av9L3Yhd'], // dust-collector/o2_high
  ['BiB_Kf5iY2ac_PspoJZ3og', 'ZqR_iA_p-QNro_GyMct1Wr'], // dust-collector/water_level_low
  ['NMsHtd3evelvjDNURCon3f', 'o9NEBrQtnlKx5ctSRCb8ug'], // dust-collector/circulation_flow_low
  ['gsPSJXeyvs23oK1jMrbHyf', 'RXNDOzplbCSNhjOB1AyuF0'], // mine-slope/velocity_24h
  ['uv1bbRSvduCs4Ba8-cVaj9', 'Fcw8hADdymtzQY6XDIB0PI'], // mine-slope/velocity_1h
  ['a0Od5sGK8qBOgv6CADQeED', 'p8bG8AuVvqjP3xNzTvo2cE'], // mine-slope/cumulative_displacement
  ['Gefgl0DZu2jktuK98uxeAg', 'CuRv84pZkiBAXypEJpyObm'], // mine-slope/tangent_angle
  ['4AsW7B8Ab_q98EUZhBhHJg', '8f18-IFPu7aSZfQjuxtd6g'], // mine-slope/crack_width_high
  ['QrgJhGaCXJiHk6toh5ssBg', '6sSmSdONKwhGjzQ6ldjZbv'], // mine-slope/crack_growth
  ['XBVSbm8sSibIrglxhaLHJt', 'zB_jfArXDuUGR3VuaGFPJP'], // mine-slope/rainfall_24h
  ['2w7Bfgwrx4GEtYWXvh02hs', 'WTGiovvoeoBnM-Vow5_2vJ'], // mine-slope/groundwater_high
  ['I7J3qZmaQpNDAW43UfgPzp', 'YxOW0_H2mMXLy501ljrfCn'], // power/declared_stopped_running
  ['V5YkjM8xg3mZD3yz-bduwy', 'aGonMR2vAKB65fB1jMsoL_'], // power/night_running
  ['3UsG6GGWjRSBVpR1ar1Wgh', 'YMARYeE2uyFk8eEho3palN'], // power/over_capacity
  ['zTaDtdcgEEA4Z7ceZT4Pfx', 'pBpahT9jHsu4mwLckdMCT0'], // power/faked_offline
  ['zpF1_QlNwjT2nHZjfzih3K', 'KGEJiAmFUB9ecDXt9kMBjE'], // power/monitors_silent_plant_stopped
  ['fTzGT9x7JefJs6vgQPhRIK', 'eYfBamQNqhNHDQz7mCiVVE'], // power/safety_equipment_off_while_producing
  ['-PPUQRo3RKQnky7B2eS1is', 's1UlJzZFHzW4nVjTKWINxu'], // tailings-dam/displacement_velocity
  ['XxeGNcwJL1CpkBh215H6I3', 'zB_jfArXDuUGR3VuaGFPJP'], // tailings-dam/rainfall_24h
]);
